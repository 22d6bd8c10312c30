"""check_share.py TOTAL_BYTES WORLD [--disk] < OUTPUT — every rank of rt_weights --stats [--io]
read its share of a TOTAL_BYTES tensor: the runtime's count is the share (to 0.1 MB, the header
aside), and with --disk the bytes the kernel read from disk for it (read_bytes, readahead
included) are under 1.5 times the share, far from the whole tensor."""
import re
import sys

total, world, disk = int(sys.argv[1]), int(sys.argv[2]), "--disk" in sys.argv
share = total / world / 1e6
text = sys.stdin.read()
stats = {int(r): float(m) for r, m in re.findall(r"stats: rank (\d+): weights [\d.]+ MB, "
                                                  r"read ([\d.]+) MB", text)}
io = {int(r): int(b) / 1e6 for r, b in re.findall(r"rank (\d+): read_bytes (\d+)", text)}
ok = True
for rank in range(world):
    counted = stats.get(rank, -1)
    from_disk = io.get(rank, 0)
    good = abs(counted - share) <= 0.1 and (not disk or from_disk < 1.5 * share)
    ok &= good
    print("rank %d: %s (read %.1f MB of %.1f MB, share %.1f MB%s)" % (
        rank, "reads its share" if good else "DOES NOT read its share", counted, total / 1e6,
        share, ", %.1f MB from disk" % from_disk if disk else ""))
sys.exit(0 if ok else 1)

# Builds a program that links the model's library, with the Makefile's own CC, CFLAGS and LDLIBS:
#   make -C OUTDIR -f Makefile -f use_library.mk use_llama PROGRAM=use_llama SOURCE=.../use_llama.c \
#        LIB=libllama.a
$(PROGRAM): $(SOURCE) $(LIB)
	$(CC) $(CFLAGS) -I. -o $@ $(SOURCE) $(LIB) $(LDLIBS)

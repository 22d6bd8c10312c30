/* nccl.cc: the NCCL subset over MPI.  ncclCommInitRank splits MPI_COMM_WORLD by a hash of the
 * unique id (so every world rank calls it, as tpc's programs do), then checks the size and the
 * rank.  Every call is checked at the call, then becomes stream work (recorded while the stream is
 * captured); inside ncclGroupStart/End the calls of the group become one piece of work, at
 * ncclGroupEnd, whose sends and receives are posted non-blocking before its collectives run and
 * complete at its end, so a ring of sends does not deadlock.  16-bit floats are reduced in float
 * and rounded once. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vector>

#include <mpi.h>

#include "internal.h"
#include "nccl.h"

struct ncclComm {
    MPI_Comm comm;
    int rank, size;
};

using namespace cudasim;

namespace {

enum CallKind { CALL_ALL_REDUCE, CALL_ALL_GATHER, CALL_BROADCAST, CALL_REDUCE, CALL_SEND, CALL_RECV };

struct Call {
    CallKind kind;
    const void *send;
    void *recv;
    size_t count;
    ncclDataType_t type;
    ncclRedOp_t op;
    int peer;  // root, or the peer of a send or receive
    ncclComm_t comm;
    cudaStream_t stream;
};

constexpr int TAG = 0x6e63;      // 'nc'
constexpr size_t CHUNK = 1u << 30;  // bytes per MPI message, under MPI's int counts

int group_depth;
std::vector<Call> group;

size_t type_size(ncclDataType_t t)
{
    switch (t) {
    case ncclInt8:     return 1;
    case ncclInt32:    return 4;
    case ncclFloat16:  return 2;
    case ncclFloat32:  return 4;
    case ncclBfloat16: return 2;
    }
    return 0;
}

bool is_16bit_float(ncclDataType_t t) { return t == ncclFloat16 || t == ncclBfloat16; }

MPI_Datatype mpi_type(ncclDataType_t t)
{
    switch (t) {
    case ncclInt8:  return MPI_INT8_T;
    case ncclInt32: return MPI_INT32_T;
    default:        return MPI_FLOAT;
    }
}

std::vector<float> widen(const void *p, size_t n, ncclDataType_t t)
{
    std::vector<float> out(n);
    const unsigned short *h = (const unsigned short *)p;
    for (size_t i = 0; i < n; i++)
        out[i] = t == ncclBfloat16 ? bf16_to_float(h[i]) : half_to_float(h[i]);
    return out;
}

void narrow(void *p, const std::vector<float> &v, ncclDataType_t t)
{
    unsigned short *h = (unsigned short *)p;
    for (size_t i = 0; i < v.size(); i++)
        h[i] = t == ncclBfloat16 ? float_to_bf16(v[i]) : float_to_half(v[i]);
}

/* recv = op over ranks of send, at every rank (root < 0) or at root. */
void reduce(const Call &c)
{
    MPI_Op op = c.op == ncclSum ? MPI_SUM : MPI_MAX;
    bool here = c.peer < 0 || c.peer == c.comm->rank;
    if (is_16bit_float(c.type)) {
        std::vector<float> v = widen(c.send, c.count, c.type);
        for (size_t off = 0; off < c.count; off += CHUNK / 4) {
            int n = (int)(c.count - off < CHUNK / 4 ? c.count - off : CHUNK / 4);
            if (c.peer < 0)
                MPI_Allreduce(MPI_IN_PLACE, v.data() + off, n, MPI_FLOAT, op, c.comm->comm);
            else
                MPI_Reduce(here ? MPI_IN_PLACE : v.data() + off, v.data() + off, n, MPI_FLOAT, op,
                           c.peer, c.comm->comm);
        }
        if (here)
            narrow(c.recv, v, c.type);
        return;
    }
    size_t size = type_size(c.type), step = CHUNK / size;
    if (here && c.send != c.recv)
        memcpy(c.recv, c.send, c.count * size);
    for (size_t off = 0; off < c.count; off += step) {
        int n = (int)(c.count - off < step ? c.count - off : step);
        char *r = here ? (char *)c.recv + off * size : nullptr;
        const char *s = (const char *)c.send + off * size;
        if (c.peer < 0)
            MPI_Allreduce(MPI_IN_PLACE, r, n, mpi_type(c.type), op, c.comm->comm);
        else
            MPI_Reduce(here ? MPI_IN_PLACE : s, r, n, mpi_type(c.type), op, c.peer,
                       c.comm->comm);
    }
}

void all_gather(const Call &c)
{
    size_t bytes = c.count * type_size(c.type);
    char *recv = (char *)c.recv;
    const char *mine = recv + (size_t)c.comm->rank * bytes;
    if (bytes <= CHUNK) {
        MPI_Allgather(c.send == mine ? MPI_IN_PLACE : c.send, (int)bytes, MPI_BYTE, recv,
                      (int)bytes, MPI_BYTE, c.comm->comm);
        return;
    }
    std::vector<char> part((size_t)c.comm->size * CHUNK);
    for (size_t off = 0; off < bytes; off += CHUNK) {
        size_t n = bytes - off < CHUNK ? bytes - off : CHUNK;
        MPI_Allgather((const char *)c.send + off, (int)n, MPI_BYTE, part.data(), (int)n, MPI_BYTE,
                      c.comm->comm);
        for (int r = 0; r < c.comm->size; r++)
            memcpy(recv + (size_t)r * bytes + off, part.data() + (size_t)r * n, n);
    }
}

void broadcast(const Call &c)
{
    size_t bytes = c.count * type_size(c.type);
    if (c.comm->rank == c.peer && c.send != c.recv)
        memcpy(c.recv, c.send, bytes);
    for (size_t off = 0; off < bytes; off += CHUNK) {
        size_t n = bytes - off < CHUNK ? bytes - off : CHUNK;
        MPI_Bcast((char *)c.recv + off, (int)n, MPI_BYTE, c.peer, c.comm->comm);
    }
}

void point_to_point(const Call &c, std::vector<MPI_Request> &requests)
{
    size_t bytes = c.count * type_size(c.type);
    for (size_t off = 0; off < bytes; off += CHUNK) {
        size_t n = bytes - off < CHUNK ? bytes - off : CHUNK;
        MPI_Request r;
        if (c.kind == CALL_SEND)
            MPI_Isend((const char *)c.send + off, (int)n, MPI_BYTE, c.peer, TAG, c.comm->comm, &r);
        else
            MPI_Irecv((char *)c.recv + off, (int)n, MPI_BYTE, c.peer, TAG, c.comm->comm, &r);
        requests.push_back(r);
    }
}

void calls_run(const std::vector<Call> &calls)
{
    std::vector<MPI_Request> requests;
    for (const Call &c : calls)
        if (c.kind == CALL_SEND || c.kind == CALL_RECV)
            point_to_point(c, requests);
    for (const Call &c : calls) {
        switch (c.kind) {
        case CALL_ALL_REDUCE:
        case CALL_REDUCE:     reduce(c); break;
        case CALL_ALL_GATHER: all_gather(c); break;
        case CALL_BROADCAST:  broadcast(c); break;
        default:              break;
        }
    }
    if (!requests.empty())
        MPI_Waitall((int)requests.size(), requests.data(), MPI_STATUSES_IGNORE);
}

ncclResult_t calls_submit(std::vector<Call> calls)
{
    if (calls.empty())
        return ncclSuccess;
    cudaStream_t stream = calls[0].stream;
    return stream_submit(stream, [calls] { calls_run(calls); }) ? ncclInvalidUsage
                                                                  : ncclSuccess;
}

ncclResult_t call_add(const Call &c)
{
    if (!c.comm || !type_size(c.type) || (c.op != ncclSum && c.op != ncclMax))
        return ncclInvalidArgument;
    if (c.count && (((c.kind != CALL_RECV) && !c.send) || (c.kind != CALL_SEND && !c.recv &&
                                                          (c.kind != CALL_REDUCE ||
                                                           c.peer == c.comm->rank))))
        return ncclInvalidArgument;
    bool rooted = c.kind == CALL_BROADCAST || c.kind == CALL_REDUCE || c.kind == CALL_SEND ||
                  c.kind == CALL_RECV;
    if (rooted && (c.peer < 0 || c.peer >= c.comm->size))
        return ncclInvalidArgument;
    if (group_depth > 0) {
        group.push_back(c);
        return ncclSuccess;
    }
    return calls_submit({c});
}

} // namespace

extern "C" {

const char *ncclGetErrorString(ncclResult_t result)
{
    switch (result) {
    case ncclSuccess:            return "no error";
    case ncclUnhandledCudaError: return "unhandled cuda error (run with NCCL_DEBUG=INFO for details)";
    case ncclSystemError:        return "unhandled system error (run with NCCL_DEBUG=INFO for details)";
    case ncclInternalError:      return "internal error - please report this issue to the NCCL developers";
    case ncclInvalidArgument:    return "invalid argument (run with NCCL_DEBUG=WARN for details)";
    case ncclInvalidUsage:       return "invalid usage (run with NCCL_DEBUG=WARN for details)";
    case ncclRemoteError:        return "remote process exited or there was a network error";
    case ncclInProgress:         return "NCCL operation in progress";
    }
    return "unknown result code";
}

ncclResult_t ncclGetUniqueId(ncclUniqueId *uniqueId)
{
    static unsigned counter;
    if (!uniqueId)
        return ncclInvalidArgument;
    memset(uniqueId, 0, sizeof *uniqueId);
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    snprintf(uniqueId->internal, sizeof uniqueId->internal, "cudasim %ld %ld.%09ld %u",
             (long)getpid(), (long)t.tv_sec, t.tv_nsec, counter++);
    return ncclSuccess;
}

ncclResult_t ncclCommInitRank(ncclComm_t *comm, int nranks, ncclUniqueId commId, int rank)
{
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!comm)
        return ncclInvalidArgument;
    *comm = nullptr;
    if (!initialized)
        return ncclInvalidUsage;  // cudasim's NCCL runs over MPI: MPI_Init first
    if (runtime_check())
        return ncclUnhandledCudaError;
    if (nranks < 1 || rank < 0 || rank >= nranks)
        return ncclInvalidArgument;
    uint32_t hash = 2166136261u;  // FNV-1a of the id: the colour of the split
    for (int i = 0; i < NCCL_UNIQUE_ID_BYTES; i++)
        hash = (hash ^ (unsigned char)commId.internal[i]) * 16777619u;
    MPI_Comm split;
    MPI_Comm_split(MPI_COMM_WORLD, (int)(hash & 0x7fffffff), rank, &split);
    int size, got;
    MPI_Comm_size(split, &size);
    MPI_Comm_rank(split, &got);
    if (size != nranks || got != rank) {
        MPI_Comm_free(&split);
        return ncclInvalidArgument;
    }
    *comm = new ncclComm{split, rank, size};
    return ncclSuccess;
}

ncclResult_t ncclCommDestroy(ncclComm_t comm)
{
    if (!comm)
        return ncclSuccess;
    MPI_Comm_free(&comm->comm);
    delete comm;
    return ncclSuccess;
}

ncclResult_t ncclCommAbort(ncclComm_t comm)
{
    delete comm;  // the MPI communicator is left alone: freeing it could wait for the others
    return ncclSuccess;
}

ncclResult_t ncclCommCount(const ncclComm_t comm, int *count)
{
    if (!comm || !count)
        return ncclInvalidArgument;
    *count = comm->size;
    return ncclSuccess;
}

ncclResult_t ncclCommUserRank(const ncclComm_t comm, int *rank)
{
    if (!comm || !rank)
        return ncclInvalidArgument;
    *rank = comm->rank;
    return ncclSuccess;
}

ncclResult_t ncclAllReduce(const void *sendbuff, void *recvbuff, size_t count,
                           ncclDataType_t datatype, ncclRedOp_t op, ncclComm_t comm,
                           cudaStream_t stream)
{
    return call_add({CALL_ALL_REDUCE, sendbuff, recvbuff, count, datatype, op, -1, comm, stream});
}

ncclResult_t ncclAllGather(const void *sendbuff, void *recvbuff, size_t sendcount,
                           ncclDataType_t datatype, ncclComm_t comm, cudaStream_t stream)
{
    return call_add({CALL_ALL_GATHER, sendbuff, recvbuff, sendcount, datatype, ncclSum, -1, comm,
                     stream});
}

ncclResult_t ncclBroadcast(const void *sendbuff, void *recvbuff, size_t count,
                           ncclDataType_t datatype, int root, ncclComm_t comm,
                           cudaStream_t stream)
{
    return call_add({CALL_BROADCAST, comm && comm->rank == root ? sendbuff : recvbuff, recvbuff,
                     count, datatype, ncclSum, root, comm, stream});
}

ncclResult_t ncclReduce(const void *sendbuff, void *recvbuff, size_t count,
                        ncclDataType_t datatype, ncclRedOp_t op, int root, ncclComm_t comm,
                        cudaStream_t stream)
{
    return call_add({CALL_REDUCE, sendbuff, recvbuff, count, datatype, op, root, comm, stream});
}

ncclResult_t ncclSend(const void *sendbuff, size_t count, ncclDataType_t datatype, int peer,
                      ncclComm_t comm, cudaStream_t stream)
{
    return call_add({CALL_SEND, sendbuff, nullptr, count, datatype, ncclSum, peer, comm, stream});
}

ncclResult_t ncclRecv(void *recvbuff, size_t count, ncclDataType_t datatype, int peer,
                      ncclComm_t comm, cudaStream_t stream)
{
    return call_add({CALL_RECV, nullptr, recvbuff, count, datatype, ncclSum, peer, comm, stream});
}

ncclResult_t ncclGroupStart(void)
{
    group_depth++;
    return ncclSuccess;
}

ncclResult_t ncclGroupEnd(void)
{
    if (group_depth == 0)
        return ncclInvalidUsage;
    if (--group_depth > 0)
        return ncclSuccess;
    std::vector<Call> calls;
    calls.swap(group);
    return calls_submit(std::move(calls));
}

} // extern "C"

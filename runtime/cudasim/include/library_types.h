/* cudasim: library_types.h — cudaDataType, the subset cuBLAS takes (real values). */
#ifndef CUDASIM_LIBRARY_TYPES_H
#define CUDASIM_LIBRARY_TYPES_H

typedef enum cudaDataType_t {
    CUDA_R_16F  = 2,  /* half */
    CUDA_R_32F  = 0,  /* float */
    CUDA_R_16BF = 14  /* __nv_bfloat16 */
} cudaDataType;

#endif

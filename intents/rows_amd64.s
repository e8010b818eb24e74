//go:build amd64 && !purego

#include "textflag.h"

// The row kernels' arguments: DI dst, CX len(dst), SI rows, R8 len(rows), R9 a.
#define ROWS_ARGS \
	MOVQ dst_base+0(FP), DI; \
	MOVQ dst_len+8(FP), CX; \
	MOVQ rows_base+24(FP), SI; \
	MOVQ rows_len+32(FP), R8; \
	MOVQ a_base+48(FP), R9

// Load and store the eight accumulators of a block of dst at DI+R10: 64 floats in Y0-Y7, or 128 in
// Z0-Z7.
#define LOAD_Y8 \
	VMOVUPS (DI)(R10*1), Y0; \
	VMOVUPS 32(DI)(R10*1), Y1; \
	VMOVUPS 64(DI)(R10*1), Y2; \
	VMOVUPS 96(DI)(R10*1), Y3; \
	VMOVUPS 128(DI)(R10*1), Y4; \
	VMOVUPS 160(DI)(R10*1), Y5; \
	VMOVUPS 192(DI)(R10*1), Y6; \
	VMOVUPS 224(DI)(R10*1), Y7

#define STORE_Y8 \
	VMOVUPS Y0, (DI)(R10*1); \
	VMOVUPS Y1, 32(DI)(R10*1); \
	VMOVUPS Y2, 64(DI)(R10*1); \
	VMOVUPS Y3, 96(DI)(R10*1); \
	VMOVUPS Y4, 128(DI)(R10*1); \
	VMOVUPS Y5, 160(DI)(R10*1); \
	VMOVUPS Y6, 192(DI)(R10*1); \
	VMOVUPS Y7, 224(DI)(R10*1)

#define LOAD_Z8 \
	VMOVUPS (DI)(R10*1), Z0; \
	VMOVUPS 64(DI)(R10*1), Z1; \
	VMOVUPS 128(DI)(R10*1), Z2; \
	VMOVUPS 192(DI)(R10*1), Z3; \
	VMOVUPS 256(DI)(R10*1), Z4; \
	VMOVUPS 320(DI)(R10*1), Z5; \
	VMOVUPS 384(DI)(R10*1), Z6; \
	VMOVUPS 448(DI)(R10*1), Z7

#define STORE_Z8 \
	VMOVUPS Z0, (DI)(R10*1); \
	VMOVUPS Z1, 64(DI)(R10*1); \
	VMOVUPS Z2, 128(DI)(R10*1); \
	VMOVUPS Z3, 192(DI)(R10*1); \
	VMOVUPS Z4, 256(DI)(R10*1); \
	VMOVUPS Z5, 320(DI)(R10*1); \
	VMOVUPS Z6, 384(DI)(R10*1); \
	VMOVUPS Z7, 448(DI)(R10*1)

// func accRowsAVX2(dst []float32, rows []unsafe.Pointer, a []float32)
//
// dst[j] += a[r]·rows[r][j] for r = 0, 1, ... in order, for every j: the sum of axpy calls, with each
// block of dst held in registers across all rows instead of loaded and stored once per row. Every
// element gets the same multiplies and adds in the same order, so results are bit-identical.
TEXT ·accRowsAVX2(SB), NOSPLIT, $0-72
	ROWS_ARGS
	XORQ R10, R10
	TESTQ R8, R8
	JE   accdone

acc64:
	CMPQ    CX, $64
	JL      acc8
	LOAD_Y8
	XORQ    R11, R11

acc64row:
	MOVQ         (SI)(R11*8), AX
	VBROADCASTSS (R9)(R11*4), Y8
	VMULPS       (AX)(R10*1), Y8, Y9
	VMULPS       32(AX)(R10*1), Y8, Y10
	VMULPS       64(AX)(R10*1), Y8, Y11
	VMULPS       96(AX)(R10*1), Y8, Y12
	VADDPS       Y9, Y0, Y0
	VADDPS       Y10, Y1, Y1
	VADDPS       Y11, Y2, Y2
	VADDPS       Y12, Y3, Y3
	VMULPS       128(AX)(R10*1), Y8, Y13
	VMULPS       160(AX)(R10*1), Y8, Y14
	VMULPS       192(AX)(R10*1), Y8, Y15
	VMULPS       224(AX)(R10*1), Y8, Y9
	VADDPS       Y13, Y4, Y4
	VADDPS       Y14, Y5, Y5
	VADDPS       Y15, Y6, Y6
	VADDPS       Y9, Y7, Y7
	INCQ         R11
	CMPQ         R11, R8
	JL           acc64row
	STORE_Y8
	ADDQ         $256, R10
	SUBQ         $64, CX
	JMP          acc64

acc8:
	CMPQ    CX, $8
	JL      acc1
	VMOVUPS (DI)(R10*1), Y0
	XORQ    R11, R11

acc8row:
	MOVQ         (SI)(R11*8), AX
	VBROADCASTSS (R9)(R11*4), Y8
	VMULPS       (AX)(R10*1), Y8, Y9
	VADDPS       Y9, Y0, Y0
	INCQ         R11
	CMPQ         R11, R8
	JL           acc8row
	VMOVUPS      Y0, (DI)(R10*1)
	ADDQ         $32, R10
	SUBQ         $8, CX
	JMP          acc8

acc1:
	TESTQ  CX, CX
	JE     accdone
	VMOVSS (DI)(R10*1), X0
	XORQ   R11, R11

acc1row:
	MOVQ   (SI)(R11*8), AX
	VMOVSS (R9)(R11*4), X8
	VMULSS (AX)(R10*1), X8, X9
	VADDSS X9, X0, X0
	INCQ   R11
	CMPQ   R11, R8
	JL     acc1row
	VMOVSS X0, (DI)(R10*1)
	ADDQ   $4, R10
	DECQ   CX
	JMP    acc1

accdone:
	VZEROUPPER
	RET

// func accRowsI8AVX2(dst []float32, rows []unsafe.Pointer, a []float32)
//
// accRowsAVX2 for int8 rows: dst[j] += a[r]·float32(rows[r][j]).
TEXT ·accRowsI8AVX2(SB), NOSPLIT, $0-72
	ROWS_ARGS
	XORQ R10, R10 // byte offset in dst
	XORQ R12, R12 // byte offset in each row
	TESTQ R8, R8
	JE   qdone

q64:
	CMPQ    CX, $64
	JL      q8
	LOAD_Y8
	XORQ    R11, R11

q64row:
	MOVQ         (SI)(R11*8), AX
	ADDQ         R12, AX
	PREFETCHT0   64(AX)
	VBROADCASTSS (R9)(R11*4), Y8
	VPMOVSXBD    (AX), Y9
	VPMOVSXBD    8(AX), Y10
	VPMOVSXBD    16(AX), Y11
	VPMOVSXBD    24(AX), Y12
	VCVTDQ2PS    Y9, Y9
	VCVTDQ2PS    Y10, Y10
	VCVTDQ2PS    Y11, Y11
	VCVTDQ2PS    Y12, Y12
	VMULPS       Y8, Y9, Y9
	VMULPS       Y8, Y10, Y10
	VMULPS       Y8, Y11, Y11
	VMULPS       Y8, Y12, Y12
	VADDPS       Y9, Y0, Y0
	VADDPS       Y10, Y1, Y1
	VADDPS       Y11, Y2, Y2
	VADDPS       Y12, Y3, Y3
	VPMOVSXBD    32(AX), Y9
	VPMOVSXBD    40(AX), Y10
	VPMOVSXBD    48(AX), Y11
	VPMOVSXBD    56(AX), Y12
	VCVTDQ2PS    Y9, Y9
	VCVTDQ2PS    Y10, Y10
	VCVTDQ2PS    Y11, Y11
	VCVTDQ2PS    Y12, Y12
	VMULPS       Y8, Y9, Y9
	VMULPS       Y8, Y10, Y10
	VMULPS       Y8, Y11, Y11
	VMULPS       Y8, Y12, Y12
	VADDPS       Y9, Y4, Y4
	VADDPS       Y10, Y5, Y5
	VADDPS       Y11, Y6, Y6
	VADDPS       Y12, Y7, Y7
	INCQ         R11
	CMPQ         R11, R8
	JL           q64row
	STORE_Y8
	ADDQ         $256, R10
	ADDQ         $64, R12
	SUBQ         $64, CX
	JMP          q64

q8:
	CMPQ    CX, $8
	JL      q1
	VMOVUPS (DI)(R10*1), Y0
	XORQ    R11, R11

q8row:
	MOVQ         (SI)(R11*8), AX
	ADDQ         R12, AX
	VBROADCASTSS (R9)(R11*4), Y8
	VPMOVSXBD    (AX), Y9
	VCVTDQ2PS    Y9, Y9
	VMULPS       Y8, Y9, Y9
	VADDPS       Y9, Y0, Y0
	INCQ         R11
	CMPQ         R11, R8
	JL           q8row
	VMOVUPS      Y0, (DI)(R10*1)
	ADDQ         $32, R10
	ADDQ         $8, R12
	SUBQ         $8, CX
	JMP          q8

q1:
	TESTQ  CX, CX
	JE     qdone
	VMOVSS (DI)(R10*1), X0
	XORQ   R11, R11

q1row:
	MOVQ       (SI)(R11*8), AX
	MOVBQSX    (AX)(R12*1), BX
	VCVTSI2SSL BX, X9, X9
	VMOVSS     (R9)(R11*4), X8
	VMULSS     X8, X9, X9
	VADDSS     X9, X0, X0
	INCQ       R11
	CMPQ       R11, R8
	JL         q1row
	VMOVSS     X0, (DI)(R10*1)
	ADDQ       $4, R10
	INCQ       R12
	DECQ       CX
	JMP        q1

qdone:
	VZEROUPPER
	RET

// func accRowsAVX512(dst []float32, rows []unsafe.Pointer, a []float32)
//
// accRowsAVX2 with AVX-512: blocks of 128 floats in eight Z registers, then of 16, then the last 1-15
// under a mask; the same multiplies and adds per element, so bit-identical.
TEXT ·accRowsAVX512(SB), NOSPLIT, $0-72
	ROWS_ARGS
	XORQ R10, R10
	TESTQ R8, R8
	JE   zfdone

zf128:
	CMPQ CX, $128
	JL   zf16
	LOAD_Z8
	XORQ R11, R11

zf128row:
	MOVQ         (SI)(R11*8), AX
	VBROADCASTSS (R9)(R11*4), Z8
	VMULPS 0(AX)(R10*1), Z8, Z9
	VMULPS 64(AX)(R10*1), Z8, Z10
	VMULPS 128(AX)(R10*1), Z8, Z11
	VMULPS 192(AX)(R10*1), Z8, Z12
	VMULPS 256(AX)(R10*1), Z8, Z13
	VMULPS 320(AX)(R10*1), Z8, Z14
	VMULPS 384(AX)(R10*1), Z8, Z15
	VMULPS 448(AX)(R10*1), Z8, Z16
	VADDPS Z9, Z0, Z0
	VADDPS Z10, Z1, Z1
	VADDPS Z11, Z2, Z2
	VADDPS Z12, Z3, Z3
	VADDPS Z13, Z4, Z4
	VADDPS Z14, Z5, Z5
	VADDPS Z15, Z6, Z6
	VADDPS Z16, Z7, Z7
	INCQ R11
	CMPQ R11, R8
	JL   zf128row
	STORE_Z8
	ADDQ $512, R10
	SUBQ $128, CX
	JMP  zf128

zf16:
	CMPQ    CX, $16
	JL      zfmask
	VMOVUPS (DI)(R10*1), Z0
	XORQ    R11, R11

zf16row:
	MOVQ         (SI)(R11*8), AX
	VBROADCASTSS (R9)(R11*4), Z8
	VMULPS       (AX)(R10*1), Z8, Z9
	VADDPS       Z9, Z0, Z0
	INCQ         R11
	CMPQ         R11, R8
	JL           zf16row
	VMOVUPS      Z0, (DI)(R10*1)
	ADDQ         $64, R10
	SUBQ         $16, CX
	JMP          zf16

zfmask:
	// The last 1-15 floats: the same lanes, masked (masked-off lanes are neither read nor written).
	TESTQ        CX, CX
	JE           zfdone
	MOVQ         $1, AX
	SHLQ         CX, AX
	DECQ         AX
	KMOVW        AX, K1
	VMOVUPS.Z    (DI)(R10*1), K1, Z0
	XORQ         R11, R11

zfmaskrow:
	MOVQ         (SI)(R11*8), AX
	VBROADCASTSS (R9)(R11*4), Z8
	VMOVUPS.Z    (AX)(R10*1), K1, Z9
	VMULPS       Z9, Z8, Z9
	VADDPS       Z9, Z0, Z0
	INCQ         R11
	CMPQ         R11, R8
	JL           zfmaskrow
	VMOVUPS      Z0, K1, (DI)(R10*1)

zfdone:
	VZEROUPPER
	RET

// func accRowsI8AVX512(dst []float32, rows []unsafe.Pointer, a []float32)
//
// accRowsI8AVX2 with AVX-512: blocks of 128 floats in eight Z registers, sixteen int8 widened and
// converted an instruction; then blocks of 16, then the last 1-15 under a mask. Bit-identical.
TEXT ·accRowsI8AVX512(SB), NOSPLIT, $0-72
	ROWS_ARGS
	XORQ R10, R10 // byte offset in dst
	XORQ R12, R12 // byte offset in each row
	TESTQ R8, R8
	JE   zqdone

zq128:
	CMPQ CX, $128
	JL   zq16
	LOAD_Z8
	XORQ R11, R11

zq128row:
	MOVQ         (SI)(R11*8), AX
	ADDQ         R12, AX
	PREFETCHT0   128(AX) // the next block's two lines of this row: the next pass over the rows finds
	PREFETCHT0   192(AX) // them in cache (a prefetch past the row's end cannot fault)
	VBROADCASTSS (R9)(R11*4), Z8
	VPMOVSXBD 0(AX), Z9
	VPMOVSXBD 16(AX), Z10
	VPMOVSXBD 32(AX), Z11
	VPMOVSXBD 48(AX), Z12
	VCVTDQ2PS Z9, Z9
	VCVTDQ2PS Z10, Z10
	VCVTDQ2PS Z11, Z11
	VCVTDQ2PS Z12, Z12
	VMULPS Z8, Z9, Z9
	VMULPS Z8, Z10, Z10
	VMULPS Z8, Z11, Z11
	VMULPS Z8, Z12, Z12
	VADDPS Z9, Z0, Z0
	VADDPS Z10, Z1, Z1
	VADDPS Z11, Z2, Z2
	VADDPS Z12, Z3, Z3
	VPMOVSXBD 64(AX), Z9
	VPMOVSXBD 80(AX), Z10
	VPMOVSXBD 96(AX), Z11
	VPMOVSXBD 112(AX), Z12
	VCVTDQ2PS Z9, Z9
	VCVTDQ2PS Z10, Z10
	VCVTDQ2PS Z11, Z11
	VCVTDQ2PS Z12, Z12
	VMULPS Z8, Z9, Z9
	VMULPS Z8, Z10, Z10
	VMULPS Z8, Z11, Z11
	VMULPS Z8, Z12, Z12
	VADDPS Z9, Z4, Z4
	VADDPS Z10, Z5, Z5
	VADDPS Z11, Z6, Z6
	VADDPS Z12, Z7, Z7
	INCQ R11
	CMPQ R11, R8
	JL   zq128row
	STORE_Z8
	ADDQ $512, R10
	ADDQ $128, R12
	SUBQ $128, CX
	JMP  zq128

zq16:
	CMPQ    CX, $16
	JL      zqmask
	VMOVUPS (DI)(R10*1), Z0
	XORQ    R11, R11

zq16row:
	MOVQ         (SI)(R11*8), AX
	VBROADCASTSS (R9)(R11*4), Z8
	VPMOVSXBD    (AX)(R12*1), Z9
	VCVTDQ2PS    Z9, Z9
	VMULPS       Z8, Z9, Z9
	VADDPS       Z9, Z0, Z0
	INCQ         R11
	CMPQ         R11, R8
	JL           zq16row
	VMOVUPS      Z0, (DI)(R10*1)
	ADDQ         $64, R10
	ADDQ         $16, R12
	SUBQ         $16, CX
	JMP          zq16

zqmask:
	// The last 1-15 weights: the same lanes, masked (masked-off lanes are neither read nor written).
	TESTQ        CX, CX
	JE           zqdone
	MOVQ         $1, AX
	SHLQ         CX, AX
	DECQ         AX
	KMOVW        AX, K1
	VMOVUPS.Z    (DI)(R10*1), K1, Z0
	XORQ         R11, R11

zqmaskrow:
	MOVQ         (SI)(R11*8), AX
	VBROADCASTSS (R9)(R11*4), Z8
	VPMOVSXBD.Z  (AX)(R12*1), K1, Z9
	VCVTDQ2PS    Z9, Z9
	VMULPS       Z8, Z9, Z9
	VADDPS       Z9, Z0, Z0
	INCQ         R11
	CMPQ         R11, R8
	JL           zqmaskrow
	VMOVUPS      Z0, K1, (DI)(R10*1)

zqdone:
	VZEROUPPER
	RET

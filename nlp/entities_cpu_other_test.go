//go:build !unix

package nlp

// processCPU is not measured on this platform.
func processCPU() int64 { return -1 }

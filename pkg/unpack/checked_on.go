//go:build race || asan || msan

package unpack

// checkedMemory is whether the build watches memory accesses (-race,
// -asan, -msan); see newBuffer.
const checkedMemory = true

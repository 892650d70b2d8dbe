package deb

// SetMaxDataSize lowers the bytes of contents Walk reads, for the fuzz
// test, and returns the function that restores it.
func SetMaxDataSize(n int64) func() {
	oldData, oldStream := maxDataSize, maxStream
	maxDataSize, maxStream = n, 2*n
	return func() { maxDataSize, maxStream = oldData, oldStream }
}

// Package progress reports how far the transfer of an image's blobs has
// come: registry.Push and registry.Pull (blob bytes sent or received) and
// unpack.Unpack (compressed bytes read and applied) call a func(Update)
// with a snapshot after every chunk, each layer apart and in all. The CLI
// draws one bar per layer from them on a terminal and logs a line now and
// then elsewhere.
//
// A Tracker makes the snapshots: it is safe for concurrent use, calls the
// function with one snapshot at a time, never with a slice it will change
// later, and never reports more bytes of a blob than its size nor more in
// all than the total (a retried transfer counts again from the start of
// the blob it retries).
package progress

// Package gzmember writes and reads gzip streams made of independent
// members, which decode on several cores at once.
//
// A gzip file may be a series of members (RFC 1952, section 2.2), each
// compressed on its own, and every gzip reader decodes the series as one
// stream. The Writer cuts its input into blocks of BlockSize bytes and
// writes each as a member whose header carries, in an extra field
// (FEXTRA), a subfield with the member's length:
//
//	1f 8b 08 04  00 00 00 00  00 ff   magic, deflate, FLG=FEXTRA, no mtime, OS unknown
//	08 00                             XLEN 8
//	'J' 'M' 04 00  L L L L            subfield "JM", 4 bytes: the member's
//	                                  length, header to trailer, little-endian
//	deflate data, CRC-32, ISIZE
//
// Every member holds BlockSize bytes of input but the last, which holds
// from 0 to BlockSize. The Reader reads a member's header, takes the
// member's bytes by that length, without decoding them, and decodes the
// members on a pool of goroutines, handing their output back in order.
// From the first member without that header (a stream another tool wrote)
// it decodes the rest as any gzip reader does, in one goroutine.
//
// Guarantees:
//   - The Writer's bytes depend only on its input and level, not on how
//     many members it compresses at once.
//   - Whatever its input, the Reader returns exactly what a sequential
//     multi-member gzip reader (klauspost/compress/gzip) returns, or fails:
//     every member's CRC-32 and length are checked, and an error of the
//     source is returned as it is, never taken for the end. It fails, where
//     a sequential reader would not, only with ErrMember, on a member that
//     has the "JM" subfield and breaks its rules: a length that is not the
//     member's, or beyond MaxMember; more than BlockSize bytes of output;
//     or less, followed by another member with the subfield (members of a
//     few bytes would cost far more to hand out than to decode).
//   - Its memory is bounded: a fixed number of buffers of MaxMember and
//     BlockSize bytes, whatever the stream holds.
package gzmember

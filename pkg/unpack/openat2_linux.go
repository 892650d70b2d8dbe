package unpack

import "golang.org/x/sys/unix"

// openat2 is unix.Openat2, asked again when the kernel says EINTR or
// EAGAIN (a rename or mount raced the lookup, with RESOLVE_IN_ROOT or
// RESOLVE_BENEATH).
func openat2(dfd int, name string, how *unix.OpenHow) (int, error) {
	for {
		fd, err := unix.Openat2(dfd, name, how)
		if err != unix.EINTR && err != unix.EAGAIN {
			return fd, err
		}
	}
}

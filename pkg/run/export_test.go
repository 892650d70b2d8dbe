package run

// Start, the Run without signal forwarding or waiting, gives tests the
// running service's pid; WithInit sets the binary re-executed as the
// jail's init; DefaultProfile is the deny list of --seccomp.
var (
	Start          = start
	WithInit       = withInit
	DefaultProfile = defaultProfile
)

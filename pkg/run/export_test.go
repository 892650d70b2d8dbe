package run

// Start, the Run without signal forwarding or waiting, gives tests the
// running jail's init; ServicePid the pid of the service it runs;
// WithInit sets the binary re-executed as the jail's init;
// DefaultProfile is the deny list of --seccomp.
var (
	Start          = start
	ServicePid     = (*process).servicePid
	WithInit       = withInit
	DefaultProfile = defaultProfile
)

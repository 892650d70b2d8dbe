package trace

import "sort"

// Kind is what a recorded system call did with its path.
type Kind string

// Kinds of records.
const (
	// Open is open, openat or openat2.
	Open Kind = "open"
	// Exec is execve or execveat.
	Exec Kind = "exec"
	// Stat is stat, lstat, newfstatat or statx.
	Stat Kind = "stat"
	// Access is access, faccessat or faccessat2.
	Access Kind = "access"
	// Readlink is readlink or readlinkat.
	Readlink Kind = "readlink"
	// Mkdir is mkdir or mkdirat.
	Mkdir Kind = "mkdir"
	// Chdir is chdir.
	Chdir Kind = "chdir"
)

// Record is one traced system call on a path.
type Record struct {
	// PID is the thread id of the caller.
	PID int `json:"pid"`
	// Exe is the caller's program (/proc/PID/exe before the call), as seen
	// from the traced root.
	Exe string `json:"exe"`
	// Kind is what the call did.
	Kind Kind `json:"kind"`
	// Path is the absolute, lexically cleaned path as seen from the traced
	// root: relative paths are joined to the caller's working directory or
	// to the directory its dirfd names.
	Path string `json:"path"`
	// Write is set for an open that may write or create (O_WRONLY, O_RDWR,
	// O_CREAT, O_TRUNC, O_APPEND).
	Write bool `json:"write,omitempty"`
	// Directory is set for an open with O_DIRECTORY.
	Directory bool `json:"directory,omitempty"`
	// Errno is the error name ("ENOENT") when the call failed, "" when it
	// succeeded.
	Errno string `json:"errno,omitempty"`
}

// Result is what a traced command did.
type Result struct {
	// Argv is the command that was traced.
	Argv []string `json:"argv"`
	// Root is the directory the command was chrooted into, "/" if none.
	Root string `json:"root"`
	// Accessed are the calls that succeeded, in call order.
	Accessed []Record `json:"accessed"`
	// Missing are the opens and execs that failed with ENOENT or ENOTDIR,
	// in call order.
	Missing []Record `json:"missing"`
	// Failed are the other failed calls (stat of a missing path, EACCES,
	// ...), in call order.
	Failed []Record `json:"failed"`
	// Status is the command's exit status, or 128+signal if a signal killed it.
	Status int `json:"status"`
	// Stopped is set when Run stopped the command because its context was
	// done (then Status is most often 128+SIGTERM).
	Stopped bool `json:"stopped,omitempty"`
}

// add files r into the list its outcome belongs to.
func (res *Result) add(r Record) {
	switch {
	case r.Errno == "":
		res.Accessed = append(res.Accessed, r)
	case (r.Errno == "ENOENT" || r.Errno == "ENOTDIR") && (r.Kind == Open || r.Kind == Exec):
		res.Missing = append(res.Missing, r)
	default:
		res.Failed = append(res.Failed, r)
	}
}

// sortedKeys returns the keys of a set in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

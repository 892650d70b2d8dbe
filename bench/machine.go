package main

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// machine describes where the numbers were taken.
func (b *bench) machine() [][2]string {
	fs, _ := exec.Command("stat", "-f", "-c", "%T", b.workOrParent()).Output()
	return [][2]string{
		{"CPU", cpuModel()},
		{"cores (nproc)", firstLine("nproc")},
		{"memory", memTotal()},
		{"kernel", firstLine("uname", "-r")},
		{"OS", osRelease()},
		{"work directory", b.work + " (" + strings.TrimSpace(string(fs)) + ")"},
		{"load average before / after", b.loadBefore + " / " + loadavg()},
	}
}

func (b *bench) workOrParent() string {
	if _, err := os.Stat(b.work); err == nil {
		return b.work
	}
	return "/dev/shm"
}

// versions lists each tool's version as it reports it.
func (b *bench) versions() [][2]string {
	return [][2]string{
		{"jailimg", firstLine("git", "describe", "--always", "--dirty") + " (" + runtime.Version() + ")"},
		{"umoci", firstLine("umoci", "--version")},
		{"skopeo", firstLine("skopeo", "--version")},
		{"crane", firstLine("crane", "version")},
		{"docker-registry", firstLine("docker-registry", "--version")},
		{"GNU tar", firstLine("tar", "--version")},
		{"gzip", firstLine("gzip", "--version")},
		{"pigz", firstLine("pigz", "--version")},
		{"zstd", firstLine("zstd", "--version")},
		{"cp", firstLine("cp", "--version")},
		{"ldd (glibc)", firstLine("ldd", "--version")},
		{"gnuplot", firstLine("gnuplot", "--version")},
	}
}

func firstLine(argv ...string) string {
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil && len(out) == 0 {
		return "(" + err.Error() + ")"
	}
	s := strings.TrimSpace(string(out))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

func cpuModel() string {
	return procField("/proc/cpuinfo", "model name")
}

func memTotal() string {
	return procField("/proc/meminfo", "MemTotal")
}

func osRelease() string {
	return strings.Trim(procField("/etc/os-release", "PRETTY_NAME="), `"`)
}

// procField returns the value after the first line starting with key
// (and a ':' or '=').
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return "?"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, key) {
			v := strings.TrimPrefix(line, key)
			v = strings.TrimLeft(v, " \t")
			v = strings.TrimPrefix(v, ":")
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

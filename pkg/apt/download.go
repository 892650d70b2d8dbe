package apt

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
)

// Download has apt-get download fetch the packages reqs name (each pinned
// to a version) into dir, an empty directory. apt checks each .deb
// against the index it came from; which file is which is for the caller
// to tell by its SHA256. The directory is handed to apt's sandbox user
// (_apt), as apt itself does with its archives directory, so that the
// downloads do not run as root.
func Download(ctx context.Context, dir string, reqs []Request) error {
	if len(reqs) == 0 {
		return nil
	}
	if u, err := user.Lookup("_apt"); err == nil {
		uid, _ := strconv.Atoi(u.Uid)
		if err := os.Chown(dir, uid, -1); err != nil {
			return err
		}
	}
	args := []string{"download", "-q"}
	for _, r := range reqs {
		if r.Version == "" {
			return fmt.Errorf("downloading %s: no version", r.Name)
		}
		args = append(args, r.String())
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "apt-get", args...)
	cmd.Dir, cmd.Stderr = dir, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("apt-get download: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/jailimg/jailimg/internal/imagetest"
	"github.com/jailimg/jailimg/internal/registrytest"
	"github.com/jailimg/jailimg/pkg/layout"
)

// TestPullProgressBars records the terminal of a person running jailimg
// pull of a two-layer image from a registry (tmux gives the command a pty,
// draws the screen and captures it once the command is done): it shows a
// bar for each layer, named by its digest, with its bytes, rate and
// "done", and one for the whole pull. The same pull with stderr not a
// terminal logs lines instead, and -q shows nothing.
func TestPullProgressBars(t *testing.T) {
	tmux := needTool(t, "tmux")
	ctx := context.Background()
	reg := registrytest.Start(t)
	dir := t.TempDir()
	img := imagetest.Image(t, 3<<20, 1<<20)
	if err := layout.Write(ctx, filepath.Join(dir, "src"), img, "1"); err != nil {
		t.Fatal(err)
	}
	ref := reg.Ref("jails/two:1")
	mustJailimg(t, dir, nil, "push", "-q", "src:1", ref)

	screen := recordTerminal(t, tmux, dir, fmt.Sprintf("%s pull %s %s", jailimgBin, ref, filepath.Join(dir, "pulled")))
	t.Logf("the terminal after jailimg pull:\n%s", screen)
	if !strings.Contains(screen, "EXIT=0") {
		t.Fatalf("pull failed:\n%s", screen)
	}
	mf, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	size := `[0-9.]+ [kM]B`
	for i, l := range mf.Layers {
		bar := regexp.MustCompile(fmt.Sprintf(`layer %d %s +\[=+\] +%s / %s +%s/s +done`, i+1, l.Digest.Hex[:12], size, size, size))
		if !bar.MatchString(screen) {
			t.Errorf("no finished bar for layer %d (%s) on the screen", i+1, l.Digest.Hex[:12])
		}
	}
	if !regexp.MustCompile(`pulling, 2 layers +\[=+\] +` + size + ` / ` + size + ` .*done`).MatchString(screen) {
		t.Errorf("no finished bar for the whole pull on the screen")
	}

	plain := jailimg(t, dir, nil, "pull", ref, filepath.Join(dir, "plain"))
	if plain.code != 0 || !strings.Contains(plain.stderr, "msg=\"pulling ") || strings.Contains(plain.stderr, "[=") {
		t.Errorf("pull with stderr not a terminal: exit %d, stderr:\n%s", plain.code, plain.stderr)
	}
	quiet := recordTerminal(t, tmux, dir, fmt.Sprintf("%s -q pull %s %s", jailimgBin, ref, filepath.Join(dir, "quiet")))
	if !strings.Contains(quiet, "EXIT=0") || strings.Contains(quiet, "layer 1") || strings.Contains(quiet, "pulling") {
		t.Errorf("pull -q on a terminal shows more than the digest:\n%s", quiet)
	}
}

// recordTerminal runs the shell command line in a new tmux session (a
// terminal of 120×16) and returns the screen once it has exited, followed
// by a line EXIT=its status.
func recordTerminal(t *testing.T, tmux, dir, line string) string {
	t.Helper()
	sock := filepath.Join(dir, "tmux.sock")
	tm := func(args ...string) *exec.Cmd {
		return exec.Command(tmux, append([]string{"-S", sock, "-f", "/dev/null"}, args...)...)
	}
	script := fmt.Sprintf("%s; echo EXIT=$?; %s -S %s wait-for -S done; exec cat", line, tmux, sock)
	if out, err := tm("new-session", "-d", "-x", "120", "-y", "16", "-s", "rec", "sh", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v: %s", err, out)
	}
	defer tm("kill-server").Run()
	if out, err := tm("wait-for", "done").CombinedOutput(); err != nil {
		t.Fatalf("tmux wait-for: %v: %s", err, out)
	}
	out, err := tm("capture-pane", "-p", "-t", "rec").Output()
	if err != nil {
		t.Fatalf("tmux capture-pane: %v", err)
	}
	return string(out)
}

package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jailimg/jailimg/internal/registrytest"
	"github.com/jailimg/jailimg/internal/testutil"
	"github.com/jailimg/jailimg/pkg/layout"
)

// The tests in this file run jailimg against Debian's docker-registry.

// builtBash builds recipes/bash.yaml into DIR/out, tagged 5.2, and returns
// the work directory and the manifest digest.
func builtBash(t *testing.T) (work, digest string) {
	t.Helper()
	work = t.TempDir()
	digest = strings.TrimSpace(mustJailimg(t, work, nil, "-q", "build", "-o", "out", copyRecipe(t, "bash.yaml")))
	return work, digest
}

// jailimgStdin is jailimg with stdin.
func jailimgStdin(t *testing.T, dir, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(jailimgBin, args...)
	cmd.Dir, cmd.Stdin = dir, strings.NewReader(stdin)
	var r result
	r.stdout, r.stderr, r.code = testutil.Output(t, cmd)
	return r
}

// dockerConfig writes a docker config.json with credentials for host and
// returns the DOCKER_CONFIG environment entry pointing at it.
func dockerConfig(t *testing.T, host, user, password string) string {
	t.Helper()
	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, auth)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return "DOCKER_CONFIG=" + dir
}

// layoutDigest returns the digest of the image tagged tag in a layout.
func layoutDigest(t *testing.T, dir, tag string) string {
	t.Helper()
	img, err := layout.Image(dir, tag)
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// TestRegistryRoundTrip builds the bash jail, pushes it, pushes it again
// (no layer bytes), pulls it into an empty layout (same digest), against a
// plain registry, one with basic auth (docker config credentials, then
// --password-stdin; a wrong password fails with exit 4) and one with TLS
// (--ca-file; without it, a certificate error).
func TestRegistryRoundTrip(t *testing.T) {
	work, digest := builtBash(t)
	for _, tc := range []struct {
		name  string
		opts  []registrytest.Option
		flags func(*registrytest.Registry) []string
		env   func(*registrytest.Registry) []string
	}{
		{name: "plain"},
		{
			name: "basic auth",
			opts: []registrytest.Option{registrytest.WithBasicAuth("jail", "s3cret")},
			env:  func(r *registrytest.Registry) []string { return []string{dockerConfig(t, r.Addr, "jail", "s3cret")} },
		},
		{
			name:  "tls",
			opts:  []registrytest.Option{registrytest.WithTLS()},
			flags: func(r *registrytest.Registry) []string { return []string{"--ca-file", r.CAFile} },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := registrytest.Start(t, tc.opts...)
			var flags, env []string
			if tc.flags != nil {
				flags = tc.flags(reg)
			}
			if tc.env != nil {
				env = tc.env(reg)
			}
			ref := reg.Ref("jails/bash:5.2")
			run := func(args ...string) string { return mustJailimg(t, work, env, append(args, flags...)...) }

			var first pushResult
			if err := json.Unmarshal([]byte(run("push", "--json", "out:5.2", ref)), &first); err != nil {
				t.Fatal(err)
			}
			if first.Digest != digest || first.UploadedBytes <= 0 {
				t.Errorf("first push: %+v, want digest %s and some bytes uploaded", first, digest)
			}
			r := jailimg(t, work, env, append([]string{"push", "out", ref}, flags...)...)
			if r.code != 0 || strings.TrimSpace(r.stdout) != digest || !strings.Contains(r.stderr, "uploaded 0 B of layers") {
				t.Errorf("second push: exit %d, stdout %q, stderr %q; want %s and 'uploaded 0 B of layers'", r.code, r.stdout, r.stderr, digest)
			}
			if got := strings.TrimSpace(run("-q", "pull", ref, "pulled")); got != digest {
				t.Errorf("pull printed %s, want %s", got, digest)
			}
			if got := layoutDigest(t, filepath.Join(work, "pulled"), "5.2"); got != digest {
				t.Errorf("pulled layout holds %s, want %s", got, digest)
			}
			os.RemoveAll(filepath.Join(work, "pulled"))

			switch tc.name {
			case "basic auth":
				r := jailimgStdin(t, work, "s3cret\n", "-q", "pull", "--username", "jail", "--password-stdin", ref, "pulled:stdin")
				if r.code != 0 || layoutDigest(t, filepath.Join(work, "pulled"), "stdin") != digest {
					t.Errorf("pull with --password-stdin: exit %d\n%s", r.code, r.stderr)
				}
				// Registry to registry: one password from stdin serves both ends.
				r = jailimgStdin(t, work, "s3cret\n", "-q", "push", "--username", "jail", "--password-stdin", ref, reg.Ref("jails/copy:1"))
				if r.code != 0 || strings.TrimSpace(r.stdout) != digest {
					t.Errorf("push from the registry with --password-stdin: exit %d\n%s", r.code, r.stderr)
				}
				r = jailimgStdin(t, work, "s3cret\n", "inspect", "--username", "jail", "--password-stdin", ref)
				if r.code != 0 || !strings.Contains(r.stdout, digest) {
					t.Errorf("inspect with --password-stdin: exit %d\n%s", r.code, r.stderr)
				}
				if os.Geteuid() == 0 { // device nodes and owners need root
					target := filepath.Join(work, "jail")
					r = jailimgStdin(t, work, "s3cret\n", "-q", "unpack", "--username", "jail", "--password-stdin", ref, target)
					if r.code != 0 || strings.TrimSpace(r.stdout) != digest {
						t.Errorf("unpack from the registry with --password-stdin: exit %d\n%s", r.code, r.stderr)
					}
					r = jailimgStdin(t, work, "s3cret\n", "verify", "--username", "jail", "--password-stdin", ref, target)
					if r.code != 0 {
						t.Errorf("verify against the registry: exit %d\n%s%s", r.code, r.stdout, r.stderr)
					}
				}
				for _, bad := range []string{"wrong", ""} {
					r = jailimgStdin(t, work, "wrong\n", "push", "--username", "jail", "--password-stdin", "out", ref)
					if bad == "" {
						r = jailimg(t, work, nil, "push", "out", ref) // no credentials at all
					}
					if r.code != exitRegistry || !strings.Contains(r.stderr, "401 Unauthorized") || !strings.Contains(r.stderr, "registry "+reg.Addr) {
						t.Errorf("password %q: exit %d, stderr %q; want exit 4 and 401 Unauthorized naming the registry", bad, r.code, r.stderr)
					}
				}
			case "tls":
				r := jailimg(t, work, nil, "push", "out", ref)
				if r.code == 0 || !strings.Contains(r.stderr, "certificate") {
					t.Errorf("push without --ca-file: exit %d, stderr %q; want a certificate error", r.code, r.stderr)
				}
			}
		})
	}
}

// TestBuildPush checks build --push uploads the image it wrote, with the
// standard annotations and --annotation's, and a platform.
func TestBuildPush(t *testing.T) {
	crane := needTool(t, "crane")
	reg := registrytest.Start(t)
	work := t.TempDir()
	ref := reg.Ref("jails/bash:5.2")
	out := mustJailimg(t, work, nil, "-q", "build", "-o", "out", "--push", ref,
		"--annotation", "org.opencontainers.image.source=https://example.com/jails.git",
		"--annotation", "org.opencontainers.image.revision=0123abc",
		copyRecipe(t, "bash.yaml"))
	if got := layoutDigest(t, filepath.Join(work, "out"), "5.2"); strings.TrimSpace(out) != got {
		t.Errorf("build --push printed %q, layout holds %s", out, got)
	}
	raw, err := exec.Command(crane, "manifest", ref).Output()
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ Annotations map[string]string }
	json.Unmarshal(raw, &m)
	for k, want := range map[string]string{
		"org.opencontainers.image.title":    "bash",
		"org.opencontainers.image.version":  "5.2",
		"org.opencontainers.image.source":   "https://example.com/jails.git",
		"org.opencontainers.image.revision": "0123abc",
	} {
		if m.Annotations[k] != want {
			t.Errorf("annotation %s = %q, want %q", k, m.Annotations[k], want)
		}
	}
	if m.Annotations["org.opencontainers.image.created"] == "" {
		t.Error("no org.opencontainers.image.created annotation")
	}
	raw, err = exec.Command(crane, "config", ref).Output()
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ OS, Architecture string }
	json.Unmarshal(raw, &c)
	if c.OS != "linux" || c.Architecture == "" {
		t.Errorf("config platform %s/%s, want linux/ARCH", c.OS, c.Architecture)
	}
}

// randomRecipe writes a recipe of bash plus n files of size random bytes.
func randomRecipe(t *testing.T, n, size int) string {
	t.Helper()
	dir := filepath.Dir(copyRecipe(t, "bash.yaml"))
	var files []string
	for i := range n {
		b := make([]byte, size)
		rand.Read(b)
		src := fmt.Sprintf("random%d.bin", i)
		if err := os.WriteFile(filepath.Join(dir, src), b, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, fmt.Sprintf("  - {src: %s, dst: /data/%s}", src, src))
	}
	r := "name: big\nversion: \"1\"\nbinaries: [/usr/bin/bash]\nfiles:\n" + strings.Join(files, "\n") + "\n"
	p := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(p, []byte(r), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRegistryInterop checks both ways against the tools users have: an
// image pushed by jailimg is read by skopeo inspect and skopeo copy and
// passes crane validate; an image made by umoci and pushed by skopeo is
// pulled by jailimg with its digest unchanged, and unpacked by it.
func TestRegistryInterop(t *testing.T) {
	skopeo, crane, umoci := needTool(t, "skopeo"), needTool(t, "crane"), needTool(t, "umoci")
	reg := registrytest.Start(t)
	work, digest := builtBash(t)
	ref := reg.Ref("jails/bash:5.2")
	mustJailimg(t, work, nil, "-q", "push", "out", ref)
	tool := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = work
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.String())
		}
		return string(out)
	}

	t.Run("jailimg to skopeo and crane", func(t *testing.T) {
		var info struct{ Digest, Os, Architecture string }
		if err := json.Unmarshal([]byte(tool(skopeo, "inspect", "--tls-verify=false", "docker://"+ref)), &info); err != nil {
			t.Fatal(err)
		}
		if info.Digest != digest || info.Os != "linux" {
			t.Errorf("skopeo inspect: %+v, want digest %s on linux", info, digest)
		}
		tool(skopeo, "copy", "--src-tls-verify=false", "docker://"+ref, "oci:skopeo-copy:5.2")
		if got := layoutDigest(t, filepath.Join(work, "skopeo-copy"), "5.2"); got != digest {
			t.Errorf("skopeo copy wrote %s, want %s", got, digest)
		}
		tool(crane, "validate", "--remote", ref)
	})

	t.Run("umoci and skopeo to jailimg", func(t *testing.T) {
		tool(umoci, "init", "--layout", "umoci")
		tool(umoci, "new", "--image", "umoci:base")
		tool(umoci, "unpack", "--rootless", "--image", "umoci:base", "bundle")
		if err := os.MkdirAll(filepath.Join(work, "bundle/rootfs/etc"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, "bundle/rootfs/etc/motd"), []byte("made by umoci\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		tool(umoci, "repack", "--image", "umoci:base", "bundle")
		uref := reg.Ref("umoci/base:1")
		tool(skopeo, "copy", "--dest-tls-verify=false", "oci:umoci:base", "docker://"+uref)
		want := strings.TrimSpace(tool(crane, "digest", uref))
		if got := strings.TrimSpace(mustJailimg(t, work, nil, "-q", "pull", uref, "from-umoci")); got != want {
			t.Errorf("jailimg pull printed %s, registry has %s", got, want)
		}
		if got := layoutDigest(t, filepath.Join(work, "from-umoci"), "1"); got != want {
			t.Errorf("pulled layout holds %s, want %s", got, want)
		}
		needRoot(t)
		mustJailimg(t, work, nil, "-q", "unpack", "from-umoci:1", "jail")
		b, err := os.ReadFile(filepath.Join(work, "jail/current/rootfs/etc/motd"))
		if err != nil || string(b) != "made by umoci\n" {
			t.Errorf("unpacked /etc/motd: %q, %v", b, err)
		}
	})
}

// listLayout returns a layout's index.json and the names of its blobs.
func listLayout(t *testing.T, dir string) string {
	t.Helper()
	idx, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := filepath.Glob(filepath.Join(dir, "blobs/sha256/*"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range blobs {
		blobs[i] = filepath.Base(blobs[i])
	}
	return string(idx) + "\n" + strings.Join(blobs, "\n")
}

// TestPullCorruptBlob overwrites the layer's data file in the registry's
// storage: jailimg pull into an existing layout holding another image must
// fail with a digest error and leave the layout's index.json and blobs as
// they were, with no staging directory beside it.
func TestPullCorruptBlob(t *testing.T) {
	reg := registrytest.Start(t)
	work, _ := builtBash(t)
	ref := reg.Ref("jails/bash:5.2")
	mustJailimg(t, work, nil, "-q", "push", "out", ref)
	img, err := layout.Image(filepath.Join(work, "out"), "")
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	data := reg.BlobData(m.Layers[0].Digest.String())
	b, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	if err := os.WriteFile(data, b, 0o644); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	mustJailimg(t, other, nil, "-q", "build", "-o", "out", randomRecipe(t, 1, 1000))
	before := listLayout(t, filepath.Join(other, "out"))
	r := jailimg(t, other, nil, "pull", ref, "out:5.2")
	if r.code == 0 || !strings.Contains(r.stderr, "verifying sha256") || !strings.Contains(r.stderr, m.Layers[0].Digest.Hex) || !strings.Contains(r.stderr, "repository jails/bash") {
		t.Errorf("pull of a corrupted blob: exit %d, stderr %q; want a digest error naming the layer and repository", r.code, r.stderr)
	}
	if after := listLayout(t, filepath.Join(other, "out")); after != before {
		t.Errorf("layout changed:\n%s\nthen\n%s", before, after)
	}
	if got := dirNames(t, other); got != "out out.lock" {
		t.Errorf("work dir holds %s, want only out and its lock file (no staging left)", got)
	}
}

// dirNames lists the names in dir, sorted, separated by spaces.
func dirNames(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}

// TestPushRegistryKilledCLI pushes a jail with 24 MB of random files and
// kills the registry once its storage holds 1 MB of the upload, then
// restarts it on the same port and storage. The push must end either in
// success, with the registry holding every blob of the image, or in a
// clear error, with no manifest for the tag. (pkg/registry's fault tests cut
// the transfer at an exact byte; this one is the whole CLI.)
func TestPushRegistryKilledCLI(t *testing.T) {
	crane := needTool(t, "crane")
	reg := registrytest.Start(t)
	work := t.TempDir()
	digest := strings.TrimSpace(mustJailimg(t, work, nil, "-q", "build", "-o", "out", randomRecipe(t, 3, 8<<20)))
	ref := reg.Ref("jails/big:1")
	cmd := exec.Command(jailimgBin, "push", "out", ref)
	cmd.Dir = work
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	uploads := filepath.Join(reg.Dir, "docker/registry/v2/repositories/jails/big/_uploads")
	killed := false
	var err error
wait:
	for {
		select {
		case err = <-exited:
			break wait
		default:
		}
		if !killed {
			data, _ := filepath.Glob(filepath.Join(uploads, "*", "data"))
			for _, d := range data {
				if fi, err := os.Stat(d); err == nil && fi.Size() > 1<<20 && !killed {
					reg.Restart() // 1 MB of a 24 MB layer is in: the upload is under way
					killed = true
				}
			}
		}
	}
	t.Logf("killed mid-upload: %v; exit %v; stderr:\n%s", killed, err, stderr.String())
	if !killed {
		t.Log("the upload finished before the kill; only the success path was checked")
	}
	holds := exec.Command(crane, "validate", "--remote", ref).Run() == nil
	manifest := exec.Command(crane, "manifest", ref).Run() == nil
	switch {
	case err == nil && (!holds || strings.TrimSpace(stdout.String()) != digest):
		t.Errorf("push succeeded (printed %q, want %s) but crane validate --remote passes: %v", stdout.String(), digest, holds)
	case err != nil && manifest:
		t.Errorf("push failed but the registry has a manifest for %s", ref)
	case err != nil && !strings.Contains(stderr.String(), "registry "+reg.Addr):
		t.Errorf("push failed without naming the registry: %s", stderr.String())
	}
}

// TestConcurrentPullsCLI runs eight jailimg pull processes of one image
// into one layout under eight tags at once: each must succeed and the
// layout keep all eight tags (the processes take turns on the layout's
// lock file, out.lock).
func TestConcurrentPullsCLI(t *testing.T) {
	reg := registrytest.Start(t)
	work, digest := builtBash(t)
	ref := reg.Ref("jails/bash:5.2")
	mustJailimg(t, work, nil, "-q", "push", "out", ref)
	const n = 8
	cmds := make([]*exec.Cmd, n)
	outs := make([]*bytes.Buffer, n)
	for i := range cmds {
		cmds[i] = exec.Command(jailimgBin, "-q", "pull", ref, fmt.Sprintf("pulled:t%d", i))
		cmds[i].Dir = work
		outs[i] = &bytes.Buffer{}
		cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("pull %d: %v\n%s", i, err, outs[i])
		}
	}
	for i := range n {
		tag := fmt.Sprintf("t%d", i)
		img, err := layout.Image(filepath.Join(work, "pulled"), tag)
		if err != nil {
			t.Errorf("tag %s: %v", tag, err)
			continue
		}
		if d, _ := img.Digest(); d.String() != digest {
			t.Errorf("tag %s holds %s, want %s", tag, d, digest)
		}
	}
}

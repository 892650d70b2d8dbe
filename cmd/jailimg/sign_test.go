package main

import (
	"archive/tar"
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jailimg/jailimg/internal/registrytest"
	"github.com/jailimg/jailimg/internal/testutil"
	"github.com/jailimg/jailimg/pkg/layout"
	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
)

// The tests in this file sign and verify against Debian's docker-registry
// with the real cosign CLI (hack/deps.sh installs it), offline: keys, no
// transparency log.

// cosignPassword is the password of the cosign keys the tests make.
const cosignPassword = "jail-s3cret"

// signEnv is the environment of jailimg and cosign in these tests: the
// cosign key password, and a home of their own for cosign's caches.
func signEnv(t *testing.T) []string {
	t.Helper()
	return []string{"COSIGN_PASSWORD=" + cosignPassword, "HOME=" + t.TempDir()}
}

// runCosign runs the cosign CLI and returns its output and exit code.
func runCosign(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(needTool(t, "cosign"), args...)
	cmd.Env = append(os.Environ(), signEnv(t)...)
	var r result
	r.stdout, r.stderr, r.code = testutil.Output(t, cmd)
	return r
}

// keyPair is a private key file and its public key file.
type keyPair struct{ key, pub string }

// cosignKeyPair makes a key pair with cosign generate-key-pair (an
// encrypted ECDSA P-256 key, password cosignPassword).
func cosignKeyPair(t *testing.T) keyPair {
	t.Helper()
	prefix := filepath.Join(t.TempDir(), "cosign")
	if r := runCosign(t, "generate-key-pair", "--output-key-prefix", prefix); r.code != 0 {
		t.Fatalf("cosign generate-key-pair: exit %d\n%s", r.code, r.stderr)
	}
	return keyPair{prefix + ".key", prefix + ".pub"}
}

// pemKeyPair writes a plain PEM key pair of kind ecdsa or ed25519.
func pemKeyPair(t *testing.T, kind string) keyPair {
	t.Helper()
	var s crypto.Signer
	var err error
	if kind == "ed25519" {
		_, s, err = ed25519.GenerateKey(rand.Reader)
	} else {
		s, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(s)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(s.Public())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	kp := keyPair{filepath.Join(dir, kind+".pem"), filepath.Join(dir, kind+".pub")}
	for file, block := range map[string]*pem.Block{kp.key: {Type: "PRIVATE KEY", Bytes: der}, kp.pub: {Type: "PUBLIC KEY", Bytes: pub}} {
		if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return kp
}

// TestCosignVerifiesJailimgSignatures signs the bash jail with jailimg,
// offline in its layout with a cosign key then pushed, and at push time
// with plain PEM ECDSA and Ed25519 keys: cosign verify --key accepts each
// image, with the matching key only.
func TestCosignVerifiesJailimgSignatures(t *testing.T) {
	work, digest := builtBash(t)
	reg := registrytest.Start(t)
	env := signEnv(t)
	cosignKP, ecKP, edKP := cosignKeyPair(t), pemKeyPair(t, "ecdsa"), pemKeyPair(t, "ed25519")
	if got := strings.TrimSpace(mustJailimg(t, work, env, "-q", "sign", "--key", cosignKP.key, "out")); got != digest {
		t.Fatalf("sign printed %q, want %s", got, digest)
	}
	for _, tc := range []struct {
		name, repo string
		kp         keyPair
		push       []string
	}{
		{"cosign key, signed in the layout", "jails/offline:1", cosignKP, nil},
		{"PEM ECDSA, push --sign-key", "jails/ecdsa:1", ecKP, []string{"--sign-key", ecKP.key}},
		{"PEM Ed25519, push --sign-key", "jails/ed25519:1", edKP, []string{"--sign-key", edKP.key}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := reg.Ref(tc.repo)
			mustJailimg(t, work, env, append(append([]string{"-q", "push"}, tc.push...), "out", ref)...)
			r := runCosign(t, "verify", "--key", tc.kp.pub, "--insecure-ignore-tlog", ref)
			if r.code != 0 || !strings.Contains(r.stdout, digest) {
				t.Fatalf("cosign verify --key %s: exit %d\n%s%s", tc.kp.pub, r.code, r.stdout, r.stderr)
			}
			other := pemKeyPair(t, "ecdsa")
			if r := runCosign(t, "verify", "--key", other.pub, "--insecure-ignore-tlog", ref); r.code == 0 {
				t.Errorf("cosign verify accepted the image with a key that did not sign it")
			}
		})
	}
}

// TestJailimgVerifiesCosignSignatures signs pushed images with cosign sign
// --key (ECDSA, and Ed25519, whose signature cosign makes as Ed25519ph):
// unpack --verify-key and verify-signature accept them, with the matching
// key among others (rotation), and refuse them with another key.
func TestJailimgVerifiesCosignSignatures(t *testing.T) {
	work, digest := builtBash(t)
	reg := registrytest.Start(t)
	env := signEnv(t)
	ed := pemKeyPair(t, "ed25519")
	edPrefix := filepath.Join(t.TempDir(), "ed")
	if r := runCosign(t, "import-key-pair", "--key", ed.key, "--output-key-prefix", edPrefix); r.code != 0 {
		t.Fatalf("cosign import-key-pair: exit %d\n%s", r.code, r.stderr)
	}
	other := pemKeyPair(t, "ecdsa")
	for _, tc := range []struct {
		name string
		kp   keyPair
	}{
		{"ecdsa", cosignKeyPair(t)},
		{"ed25519", keyPair{edPrefix + ".key", edPrefix + ".pub"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := reg.Ref("jails/" + tc.name + ":1")
			mustJailimg(t, work, nil, "-q", "push", "out", ref)
			if r := runCosign(t, "sign", "--key", tc.kp.key, "--tlog-upload=false", "-y", reg.Ref("jails/"+tc.name+"@"+digest)); r.code != 0 {
				t.Fatalf("cosign sign: exit %d\n%s", r.code, r.stderr)
			}
			keys := other.pub + "," + tc.kp.pub
			if r := jailimg(t, work, env, "verify-signature", "--key", keys, ref); r.code != 0 || strings.TrimSpace(r.stdout) != digest {
				t.Errorf("verify-signature --key %s: exit %d\n%s", keys, r.code, r.stderr)
			}
			if r := jailimg(t, work, env, "verify-signature", "--key", other.pub, ref); r.code != exitInput || !strings.Contains(r.stderr, "signed by another key") {
				t.Errorf("verify-signature with another key: exit %d, want 3 saying signed by another key\n%s", r.code, r.stderr)
			}
			needRoot(t)
			target := filepath.Join(t.TempDir(), "jail")
			if r := jailimg(t, work, env, "-q", "unpack", "--verify-key", keys, ref, target); r.code != 0 || strings.TrimSpace(r.stdout) != digest {
				t.Errorf("unpack --verify-key: exit %d\n%s", r.code, r.stderr)
			}
		})
	}
}

// liveState is what of a bundle a refused unpack must leave as it was.
func liveState(t *testing.T, target string) string {
	t.Helper()
	cur, err := os.Readlink(filepath.Join(target, "current"))
	if err != nil {
		t.Fatal(err)
	}
	meta, err := os.ReadFile(filepath.Join(target, "current", "image.json"))
	if err != nil {
		t.Fatal(err)
	}
	return cur + "\n" + string(meta)
}

// layerDigest returns the digest of the only layer of the image tagged tag
// in a layout.
func layerDigest(t *testing.T, dir, tag string) string {
	t.Helper()
	img, err := layout.Image(dir, tag)
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil || len(m.Layers) != 1 {
		t.Fatalf("%v, %d layers", err, len(m.Layers))
	}
	return m.Layers[0].Digest.String()
}

// TestUnpackVerifyKeyRefuses unpacks a signed image, then tries images
// unsigned, signed by another key, re-tagged after signing (the signature
// of the old digest copied to the new one) and with one byte of their
// signature payload changed: each is refused with exit 3 naming the
// reference, the digest and why, the live tree is kept, and not one GET
// of the refused image's layer reaches the registry. pull --verify-key
// refuses the same way and writes nothing. A correctly signed image then
// goes through, its layer fetched: the count can tell.
func TestUnpackVerifyKeyRefuses(t *testing.T) {
	needRoot(t)
	crane := needTool(t, "crane")
	reg := registrytest.Start(t)
	env := signEnv(t)
	release, other := cosignKeyPair(t), pemKeyPair(t, "ecdsa")
	work, live := builtBash(t)
	mustJailimg(t, work, env, "-q", "push", "--sign-key", release.key, "out", reg.Ref("jails/live:1"))
	target := filepath.Join(t.TempDir(), "jail")
	mustJailimg(t, work, env, "-q", "unpack", "--verify-key", release.pub, reg.Ref("jails/live:1"), target)
	before := liveState(t, target)

	// Another image of the same jail: its own layer digest, never fetched yet.
	mustJailimg(t, work, append(env, "SOURCE_DATE_EPOCH=86400"), "-q", "build", "-o", "new", copyRecipe(t, "bash.yaml"))
	newDigest, newLayer := layoutDigest(t, filepath.Join(work, "new"), ""), layerDigest(t, filepath.Join(work, "new"), "")
	push := func(ref string, flags ...string) {
		mustJailimg(t, work, env, append(append([]string{"-q", "push"}, flags...), "new", ref)...)
	}
	for _, tc := range []struct {
		name, repo, reason string
		setup              func(ref string)
	}{
		{"unsigned", "jails/unsigned", "refused: unsigned", func(ref string) { push(ref) }},
		{"signed by another key", "jails/other", "refused: signed by another key", func(ref string) { push(ref, "--sign-key", other.key) }},
		{"re-tagged after signing", "jails/retag", "refused: signature over another digest", func(ref string) {
			mustJailimg(t, work, env, "-q", "push", "--sign-key", release.key, "out", ref)
			push(ref) // the tag now names another image
			repo := strings.TrimSuffix(ref, ":1")
			sigOf := func(d string) string { return repo + ":sha256-" + strings.TrimPrefix(d, "sha256:") + ".sig" }
			if out, err := exec.Command(crane, "copy", sigOf(live), sigOf(newDigest)).CombinedOutput(); err != nil {
				t.Fatalf("crane copy: %v\n%s", err, out)
			}
		}},
		{"signature payload altered", "jails/altered", "refused: signature altered", func(ref string) {
			push(ref, "--sign-key", release.key)
			repo := strings.TrimSuffix(ref, ":1")
			raw, err := exec.Command(crane, "manifest", repo+":sha256-"+strings.TrimPrefix(newDigest, "sha256:")+".sig").Output()
			if err != nil {
				t.Fatal(err)
			}
			payload := jsonField(t, raw, "layers", 0, "digest")
			blob := reg.BlobData(payload)
			b, err := os.ReadFile(blob)
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)/2] ^= 0x20 // one byte changed
			if err := os.WriteFile(blob, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := reg.Ref(tc.repo + ":1")
			tc.setup(ref)
			r := jailimg(t, work, env, "unpack", "--verify-key", release.pub, ref, target)
			if r.code != exitInput || !strings.Contains(r.stderr, ref+": image "+newDigest+" "+tc.reason) {
				t.Errorf("unpack: exit %d, stderr:\n%s\nwant exit 3 and %q", r.code, r.stderr, ref+": image "+newDigest+" "+tc.reason)
			}
			if after := liveState(t, target); after != before {
				t.Errorf("the live tree changed:\n%s\nwas\n%s", after, before)
			}
			pulled := filepath.Join(t.TempDir(), "cache")
			if r := jailimg(t, work, env, "pull", "--verify-key", release.pub, ref, pulled); r.code != exitInput || !strings.Contains(r.stderr, tc.reason) {
				t.Errorf("pull: exit %d, want 3\n%s", r.code, r.stderr)
			}
			if _, err := os.Stat(pulled); !os.IsNotExist(err) {
				t.Errorf("a refused pull wrote %s (%v)", pulled, err)
			}
			if n := reg.BlobGETs(newLayer); n != 0 {
				t.Errorf("the refused image's layer %s was fetched %d times", newLayer, n)
			}
		})
	}
	ref := reg.Ref("jails/good:1")
	push(ref, "--sign-key", release.key)
	if r := jailimg(t, work, env, "-q", "unpack", "--verify-key", other.pub+","+release.pub, ref, target); r.code != 0 || strings.TrimSpace(r.stdout) != newDigest {
		t.Fatalf("unpack of the signed image: exit %d\n%s", r.code, r.stderr)
	}
	if reg.BlobGETs(newLayer) == 0 {
		t.Error("the access log shows no GET of the layer unpacked: the counts above prove nothing")
	}
}

// TestRCScriptVerifyKey boots a jail with VERIFY_KEY set from a registry
// serving an unsigned image: the rc script logs why it is refused, falls
// back to the cache, which pull --verify-key filled with a signed image
// and its signature, and runs that image. Once the registry's image is
// signed, it is unpacked, and the cache refreshed with it and its
// signature.
func TestRCScriptVerifyKey(t *testing.T) {
	needRoot(t)
	reg := registrytest.Start(t)
	env := signEnv(t)
	release := cosignKeyPair(t)
	built := sleepJail(t)
	mustJailimg(t, "", env, "-q", "sign", "--key", release.key, built)
	good := layoutDigest(t, built, "")
	mustJailimg(t, "", env, "-q", "push", built, reg.Ref("jails/bash:5.2"))
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	mustJailimg(t, "", env, "-q", "pull", "--verify-key", release.pub, reg.Ref("jails/bash:5.2"), cache)

	work, unsigned := builtBash(t) // then the tag names another image, unsigned
	mustJailimg(t, work, nil, "-q", "push", "out", reg.Ref("jails/bash:5.2"))
	conf := filepath.Join(dir, "bash.conf")
	body := strings.Join([]string{
		"JAILIMG=" + jailimgBin, "SOURCE=" + reg.Ref("jails/bash:5.2"), "CACHE=" + cache, "CACHE_REFRESH=yes",
		"VERIFY_KEY=" + release.pub, "TARGET=" + filepath.Join(dir, "jail"), "STATE=" + filepath.Join(dir, "state"),
		`RUN_FLAGS="--user jail"`, `COMMAND="-c 'exec sleep 1000'"`, "PIDFILE=" + filepath.Join(dir, "bash.pid"),
		"LOGFILE=" + filepath.Join(dir, "bash.log"), ""}, "\n")
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	r := rcScript(t, conf, "start")
	t.Cleanup(func() { rcScript(t, conf, "stop") })
	for _, want := range []string{
		reg.Ref("jails/bash:5.2") + ": image " + unsigned + " refused: unsigned",
		"was refused (exit 3",
		"falling back to the cache " + cache,
	} {
		if r.code != 0 || !strings.Contains(r.stderr, want) {
			t.Errorf("start: exit %d, want 0 and %q in:\n%s", r.code, want, r.stderr)
		}
	}
	meta, err := os.ReadFile(filepath.Join(dir, "jail", "current", "image.json"))
	if err != nil || !strings.Contains(string(meta), good) {
		t.Errorf("the live image is not the signed one from the cache, %s: %v\n%s", good, err, meta)
	}
	if r := rcScript(t, conf, "status"); r.code != 0 {
		t.Errorf("status: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := jailimg(t, "", nil, "verify-signature", "--key", release.pub, cache); r.code != 0 {
		t.Errorf("the cache's signature does not verify: exit %d\n%s", r.code, r.stderr)
	}

	// Once SOURCE's image is signed, it is unpacked and the cache refreshed
	// with it and its signature, verified.
	if r := rcScript(t, conf, "stop"); r.code != 0 {
		t.Fatalf("stop: exit %d\n%s", r.code, r.stderr)
	}
	mustJailimg(t, "", env, "-q", "sign", "--key", release.key, reg.Ref("jails/bash:5.2"))
	if r := rcScript(t, conf, "unpack"); r.code != 0 || !strings.Contains(r.stderr, "refreshing the cache") || strings.Contains(r.stderr, "falling back") {
		t.Fatalf("unpack of the signed image: exit %d\n%s", r.code, r.stderr)
	}
	if r := jailimg(t, "", nil, "verify-signature", "--key", release.pub, cache); r.code != 0 || strings.TrimSpace(r.stdout) != unsigned {
		t.Errorf("the refreshed cache: exit %d, %s, want %s signed\n%s", r.code, r.stdout, unsigned, r.stderr)
	}
}

// TestAttestationCosign builds the bash jail with --attest --sign-key
// --push: cosign verify-attestation --type slsaprovenance1 accepts its
// provenance, whose subject is the image and whose resolved dependencies
// give /usr/bin/bash the sha256 of the bash the image holds.
func TestAttestationCosign(t *testing.T) {
	crane := needTool(t, "crane")
	reg := registrytest.Start(t)
	env := signEnv(t)
	release := cosignKeyPair(t)
	work := t.TempDir()
	ref := reg.Ref("jails/bash:5.2")
	digest := strings.TrimSpace(mustJailimg(t, work, env, "-q", "build", "-o", "out", "--attest", "--sign-key", release.key, "--push", ref, copyRecipe(t, "bash.yaml")))
	r := runCosign(t, "verify-attestation", "--type", "slsaprovenance1", "--key", release.pub, "--insecure-ignore-tlog", ref)
	if r.code != 0 {
		t.Fatalf("cosign verify-attestation: exit %d\n%s", r.code, r.stderr)
	}
	st := statementOf(t, r.stdout)
	if st.PredicateType != "https://slsa.dev/provenance/v1" || len(st.Subject) != 1 || "sha256:"+st.Subject[0].Digest["sha256"] != digest {
		t.Errorf("statement: predicate %s, subject %+v; want SLSA v1 about %s", st.PredicateType, st.Subject, digest)
	}
	bash := fileDigest(t, crane, ref, "usr/bin/bash")
	var found bool
	for _, d := range st.Predicate.BuildDefinition.ResolvedDependencies {
		if d.Name == "/usr/bin/bash" {
			found = true
			if d.Digest["sha256"] != bash || d.URI != "file:///usr/bin/bash" {
				t.Errorf("resolved dependency %+v, want sha256 %s (the image's /usr/bin/bash)", d, bash)
			}
		}
	}
	if !found {
		t.Errorf("no resolved dependency for /usr/bin/bash: %+v", st.Predicate.BuildDefinition.ResolvedDependencies)
	}
	if r := runCosign(t, "verify-attestation", "--type", "slsaprovenance1", "--key", pemKeyPair(t, "ecdsa").pub, "--insecure-ignore-tlog", ref); r.code == 0 {
		t.Error("cosign verify-attestation accepted the provenance with a key that did not sign it")
	}
}

// jsonField returns the string at path (keys and indexes) in the JSON raw.
func jsonField(t *testing.T, raw []byte, path ...any) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				t.Fatalf("%v: no element %d in %s", path, k, raw)
			}
			v = a[k]
		}
	}
	s, ok := v.(string)
	if !ok {
		t.Fatalf("%v: not a string in %s", path, raw)
	}
	return s
}

// provenanceStatement is what the tests read of an in-toto statement.
type provenanceStatement struct {
	PredicateType string `json:"predicateType"`
	Subject       []struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	Predicate struct {
		BuildDefinition struct {
			ResolvedDependencies []struct {
				URI    string            `json:"uri"`
				Name   string            `json:"name"`
				Digest map[string]string `json:"digest"`
			} `json:"resolvedDependencies"`
		} `json:"buildDefinition"`
	} `json:"predicate"`
}

// statementOf reads the statement of the first DSSE envelope cosign
// verify-attestation printed.
func statementOf(t *testing.T, stdout string) provenanceStatement {
	t.Helper()
	line, _, _ := strings.Cut(strings.TrimSpace(stdout), "\n")
	var env struct{ PayloadType, Payload string }
	if err := json.Unmarshal([]byte(line), &env); err != nil {
		t.Fatalf("cosign's output: %v\n%s", err, stdout)
	}
	raw, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		t.Fatal(err)
	}
	var st provenanceStatement
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// fileDigest returns the sha256, in hex, of the file at name (no leading
// slash) in the image ref names, read from crane export's tar stream.
func fileDigest(t *testing.T, crane, ref, name string) string {
	t.Helper()
	out, err := exec.Command(crane, "export", ref, "-").Output()
	if err != nil {
		t.Fatalf("crane export: %v", err)
	}
	tr := tar.NewReader(bytes.NewReader(out))
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not in %s: %v", name, ref, err)
		}
		if strings.TrimPrefix(h.Name, "./") == name && h.Typeflag == tar.TypeReg {
			sum := sha256.New()
			if _, err := io.Copy(sum, tr); err != nil {
				t.Fatal(err)
			}
			return hex.EncodeToString(sum.Sum(nil))
		}
	}
}

// TestSignUsageErrors: key flags that cannot work exit 2 with one line
// naming the flag or the key file, before anything is read or written.
func TestSignUsageErrors(t *testing.T) {
	dir := t.TempDir()
	ec := pemKeyPair(t, "ecdsa")
	sealed := filepath.Join(t.TempDir(), "cosign.key")
	raw, err := os.ReadFile(ec.key)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(raw)
	ct, err := encrypted.EncryptWithCustomKDFParameters(block.Bytes, []byte("right"), encrypted.Legacy)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sealed, pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED SIGSTORE PRIVATE KEY", Bytes: ct}), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pub")
	ref := "127.0.0.1:1/jails/x:1"
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"sign without a key", nil, []string{"sign", ref}, "--key: give the private key"},
		{"verify-signature without a key", nil, []string{"verify-signature", ref}, "--key: give the public keys"},
		{"missing public key", nil, []string{"unpack", "--verify-key", ec.pub + "," + missing, ref, filepath.Join(dir, "t")}, "key " + missing},
		{"private key as public key", nil, []string{"pull", "--verify-key", ec.key, ref, filepath.Join(dir, "l")}, "key " + ec.key + `: a "PRIVATE KEY" PEM block`},
		{"wrong password", []string{"COSIGN_PASSWORD=wrong"}, []string{"sign", "--key", sealed, ref}, "key " + sealed + ": wrong password"},
		{"no password", nil, []string{"push", "--sign-key", sealed, dir, ref}, "COSIGN_PASSWORD or with --key-password-stdin"},
		{"two passwords on stdin", nil, []string{"push", "--sign-key", sealed, "--key-password-stdin", "--username", "u", "--password-stdin", dir, ref}, "--key-password-stdin and --password-stdin"},
		{"key password without a key", nil, []string{"push", "--key-password-stdin", dir, ref}, "--key-password-stdin: no key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(jailimgBin, tc.args...)
			cmd.Dir = dir
			cmd.Env = append(withoutEnv(os.Environ(), "COSIGN_PASSWORD"), tc.env...)
			var res result
			res.stdout, res.stderr, res.code = testutil.Output(t, cmd)
			lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
			if res.code != exitUsage || len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
				t.Errorf("jailimg %q: exit %d, stderr %q; want exit %d and one line saying %q", tc.args, res.code, res.stderr, exitUsage, tc.want)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a refused command wrote into %s: %v", dir, entries)
	}
}

// withoutEnv returns env without the variable name.
func withoutEnv(env []string, name string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, name+"=") {
			out = append(out, e)
		}
	}
	return out
}

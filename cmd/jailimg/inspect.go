package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/jailimg/jailimg/internal/printable"
	"github.com/jailimg/jailimg/pkg/image"
	"github.com/spf13/cobra"
)

// inspectOptions are the flags of `jailimg inspect`.
type inspectOptions struct {
	json     bool
	registry registryFlags
}

func newCmdInspect() *cobra.Command {
	o := &inspectOptions{}
	cmd := &cobra.Command{
		Use:   "inspect SOURCE",
		Short: "Show an image's config and list its files with mode, owner and size",
		Long: `Show the config of the image SOURCE names (entrypoint, cmd, user, env,
platform) and list every path of its file system with mode, owner and size.

SOURCE is an OCI image layout directory (DIR, DIR:TAG, or oci:DIR[:TAG] to
force it) or a registry reference.`,
		Example: `  jailimg inspect out/nginx
  jailimg inspect --json out/nginx:1.22 | jq '.files[] | select(.type=="char")'`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			return runInspect(cmd.Context(), o, a[0], cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&o.json, "json", false, "print digest, config and files as JSON")
	o.registry.AddRegistryFlags(cmd.Flags())
	return cmd
}

// inspectResult is what `jailimg inspect --json` prints.
type inspectResult struct {
	Digest string        `json:"digest"`
	Config v1.ConfigFile `json:"config"`
	Files  []image.File  `json:"files"`
}

func runInspect(ctx context.Context, o *inspectOptions, source string, w io.Writer) error {
	img, err := o.registry.openSource(ctx, source, os.Stdin)
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return err
	}
	files, err := image.Files(ctx, img)
	if err != nil {
		return inputError{fmt.Errorf("%s: %w", source, err)}
	}
	if o.json {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(inspectResult{Digest: digest.String(), Config: *cfg, Files: files})
	}
	c := cfg.Config
	fmt.Fprintf(w, "digest:     %s\nplatform:   %s/%s\nentrypoint: %q\ncmd:        %q\nuser:       %s\nworkdir:    %s\nenv:        %q\n\n",
		digest, printable.Quote(cfg.OS), printable.Quote(cfg.Architecture), c.Entrypoint, c.Cmd, printable.Quote(c.User), printable.Quote(c.WorkingDir), c.Env)
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.AlignRight)
	for _, f := range files {
		name := printable.Quote(f.Path)
		switch f.Type {
		case "symlink", "hardlink":
			name += " -> " + printable.Quote(f.Linkname)
		case "char", "block":
			name += fmt.Sprintf(" (%d, %d)", f.Major, f.Minor)
		}
		fmt.Fprintf(tw, "%s\t%d:%d\t%d\t %s\n", modeString(f), f.UID, f.GID, f.Size, name)
	}
	return tw.Flush()
}

// modeString renders a file's type and mode as ls -l does.
func modeString(f image.File) string {
	b := []byte("?rwxrwxrwx")
	b[0] = map[string]byte{"dir": 'd', "symlink": 'l', "char": 'c', "block": 'b', "fifo": 'p', "file": '-', "hardlink": '-'}[f.Type]
	if b[0] == 0 {
		b[0] = '?'
	}
	for i := 0; i < 9; i++ {
		if f.Mode&(1<<(8-i)) == 0 {
			b[i+1] = '-'
		}
	}
	special := func(bit int64, at int, set, unset byte) {
		if f.Mode&bit != 0 {
			if b[at] == '-' {
				b[at] = unset
			} else {
				b[at] = set
			}
		}
	}
	special(0o4000, 3, 's', 'S')
	special(0o2000, 6, 's', 'S')
	special(0o1000, 9, 't', 'T')
	return string(b)
}

package unpack

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseMountinfo(t *testing.T) {
	tests := []struct {
		name, in string
		want     []mountEntry
		wantErr  string
	}{
		{
			name: "optional fields and escapes",
			in: "36 35 7:3 / /srv/my\\040jail rw,nosuid,relatime shared:1 master:2 - ext4 /dev/loop3 rw,errors=remount-ro\n" +
				"40 36 0:45 / /tmp ro,nodev - tmpfs tmpfs ro,size=10k\n",
			want: []mountEntry{
				{Major: 7, Minor: 3, Point: "/srv/my jail", Opts: []string{"rw", "nosuid", "relatime"}, FSType: "ext4",
					Source: "/dev/loop3", SuperOpts: []string{"rw", "errors=remount-ro"}},
				{Major: 0, Minor: 45, Point: "/tmp", Opts: []string{"ro", "nodev"}, FSType: "tmpfs",
					Source: "tmpfs", SuperOpts: []string{"ro", "size=10k"}},
			},
		},
		{name: "no separator", in: "36 35 7:3 / /srv rw,nosuid shared:1 ext4 /dev/loop3 rw\n", wantErr: "line 1: malformed"},
		{name: "bad device", in: "36 35 7x3 / /srv rw - ext4 /dev/loop3 rw extra\n", wantErr: "line 1: bad device"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseMountinfo(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, %v\nwant %+v", got, err, tt.want)
			}
			if !got[1].readOnly() || got[0].readOnly() || !got[0].has("nosuid") {
				t.Errorf("readOnly/has disagree with the options")
			}
		})
	}
}

func TestFSType(t *testing.T) {
	ext := make([]byte, 4096)
	binary.LittleEndian.PutUint16(ext[1024+0x38:], 0xEF53)
	xfs := append([]byte("XFSB"), make([]byte, 4092)...)
	tests := []struct {
		name    string
		data    []byte
		want    string
		wantErr error
	}{
		{"ext4", ext, "ext4", nil},
		{"xfs", xfs, "xfs", nil},
		{"zeros", make([]byte, 4096), "", ErrMount},
		{"short", []byte("XFS"), "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "dev")
			if err := os.WriteFile(p, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := fsType(p)
			switch {
			case tt.want != "":
				if err != nil || got != tt.want {
					t.Fatalf("got %q, %v; want %q", got, err, tt.want)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got %q, %v; want %v", got, err, tt.wantErr)
				}
			default:
				if err == nil || !strings.Contains(err.Error(), "superblock") {
					t.Fatalf("got %q, %v; want an error naming the superblock", got, err)
				}
			}
		})
	}
}

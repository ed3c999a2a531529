package handlers

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	swaggerFiles "github.com/swaggo/files/v2"
	"golang.org/x/net/webdav"
)

// swaggerUIFiles serves Swagger UI's files to gin-swagger straight from
// swaggo/files/v2's embed.FS. swaggo/files (v1) copies them, some 8.6 MB,
// into memory when the process starts, which would more than double the
// service's resident memory.
func swaggerUIFiles() *webdav.Handler {
	return &webdav.Handler{FileSystem: readOnlyFS{swaggerFiles.FS}, LockSystem: webdav.NewMemLS()}
}

// readOnlyFS is a webdav.FileSystem over an fs.FS that can only be read.
type readOnlyFS struct{ fsys fs.FS }

func fsName(name string) string {
	name = strings.TrimPrefix(path.Clean("/"+name), "/")
	if name == "" {
		return "."
	}
	return name
}

func (r readOnlyFS) OpenFile(_ context.Context, name string, flag int, _ os.FileMode) (webdav.File, error) {
	if flag != os.O_RDONLY {
		return nil, os.ErrPermission
	}
	f, err := r.fsys.Open(fsName(name))
	if err != nil {
		return nil, err
	}
	seeker, ok := f.(io.Seeker)
	if !ok {
		f.Close()
		return nil, os.ErrInvalid
	}
	return readOnlyFile{File: f, Seeker: seeker}, nil
}

func (r readOnlyFS) Stat(_ context.Context, name string) (os.FileInfo, error) {
	return fs.Stat(r.fsys, fsName(name))
}

func (readOnlyFS) Mkdir(context.Context, string, os.FileMode) error { return os.ErrPermission }
func (readOnlyFS) RemoveAll(context.Context, string) error          { return os.ErrPermission }
func (readOnlyFS) Rename(context.Context, string, string) error     { return os.ErrPermission }

// readOnlyFile is a webdav.File over an embedded file.
type readOnlyFile struct {
	fs.File
	io.Seeker
}

func (readOnlyFile) Readdir(int) ([]fs.FileInfo, error) { return nil, os.ErrInvalid }
func (readOnlyFile) Write([]byte) (int, error)          { return 0, os.ErrPermission }

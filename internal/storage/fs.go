package storage

import (
	"errors"
	"io"
	"os"
	"sync"
)

// FS is the small filesystem interface all storage I/O goes through, so that tests can
// simulate a crash (MemFS) and inject I/O errors (ErrorFS).
type FS interface {
	OpenFile(name string, flag int, perm os.FileMode) (File, error)
	Remove(name string) error
	RemoveAll(name string) error
	Rename(oldname, newname string) error
	MkdirAll(name string, perm os.FileMode) error
	// ReadDir lists a directory's entries sorted by name, like os.ReadDir.
	ReadDir(name string) ([]os.DirEntry, error)
	Stat(name string) (os.FileInfo, error)
}

// File is an open file of an FS. Segment files are opened with os.O_APPEND, so Write always
// appends, even after Truncate.
type File interface {
	io.ReaderAt
	io.Writer
	io.Closer
	Sync() error
	Truncate(size int64) error
	Stat() (os.FileInfo, error)
}

// OSFS returns the FS of real files. The File values it returns are *os.File, so the network
// layer can type-assert them and use sendfile.
func OSFS() FS { return osFS{} }

type osFS struct{}

func (osFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err // a nil *os.File must not become a non-nil File
	}
	return f, nil
}
func (osFS) Remove(name string) error                     { return os.Remove(name) }
func (osFS) RemoveAll(name string) error                  { return os.RemoveAll(name) }
func (osFS) Rename(oldname, newname string) error         { return os.Rename(oldname, newname) }
func (osFS) MkdirAll(name string, perm os.FileMode) error { return os.MkdirAll(name, perm) }
func (osFS) ReadDir(name string) ([]os.DirEntry, error)   { return os.ReadDir(name) }
func (osFS) Stat(name string) (os.FileInfo, error)        { return os.Stat(name) }

// syncDir makes the creations, removals and renames in dir durable.
func syncDir(fs FS, dir string) error {
	d, err := fs.OpenFile(dir, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// The operations ErrorFS reports to its injector.
const (
	OpOpen      = "open"
	OpRemove    = "remove"
	OpRemoveAll = "removeall"
	OpRename    = "rename"
	OpMkdirAll  = "mkdirall"
	OpReadDir   = "readdir"
	OpStat      = "stat"
	OpRead      = "read" // File.ReadAt
	OpWrite     = "write"
	OpSync      = "sync"
	OpTruncate  = "truncate"
	OpClose     = "close"
)

// ErrInjected is a convenient error for injectors to return.
var ErrInjected = errors.New("storage: injected I/O error")

// ErrorFS wraps an FS and asks an injector before every operation; a non-nil answer fails the
// operation with that error (the wrapped FS is not called, except for a partial write).
type ErrorFS struct {
	fs     FS
	inject func(op, path string) error

	mu            sync.Mutex
	partialWrites bool // guarded by mu
}

// NewErrorFS returns an FS that consults inject(op, path) (op is one of the Op constants)
// before each operation of fs.
func NewErrorFS(fs FS, inject func(op, path string) error) *ErrorFS {
	return &ErrorFS{fs: fs, inject: inject}
}

// SetPartialWrites makes failed writes write the first half of their bytes before failing.
func (e *ErrorFS) SetPartialWrites(on bool) {
	e.mu.Lock()
	e.partialWrites = on
	e.mu.Unlock()
}

func (e *ErrorFS) check(op, path string) error {
	if e.inject == nil {
		return nil
	}
	return e.inject(op, path)
}

func (e *ErrorFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	if err := e.check(OpOpen, name); err != nil {
		return nil, &os.PathError{Op: OpOpen, Path: name, Err: err}
	}
	f, err := e.fs.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &errorFile{fs: e, f: f, name: name}, nil
}

func (e *ErrorFS) Remove(name string) error {
	if err := e.check(OpRemove, name); err != nil {
		return err
	}
	return e.fs.Remove(name)
}

func (e *ErrorFS) RemoveAll(name string) error {
	if err := e.check(OpRemoveAll, name); err != nil {
		return err
	}
	return e.fs.RemoveAll(name)
}

func (e *ErrorFS) Rename(oldname, newname string) error {
	if err := e.check(OpRename, oldname); err != nil {
		return err
	}
	return e.fs.Rename(oldname, newname)
}

func (e *ErrorFS) MkdirAll(name string, perm os.FileMode) error {
	if err := e.check(OpMkdirAll, name); err != nil {
		return err
	}
	return e.fs.MkdirAll(name, perm)
}

func (e *ErrorFS) ReadDir(name string) ([]os.DirEntry, error) {
	if err := e.check(OpReadDir, name); err != nil {
		return nil, err
	}
	return e.fs.ReadDir(name)
}

func (e *ErrorFS) Stat(name string) (os.FileInfo, error) {
	if err := e.check(OpStat, name); err != nil {
		return nil, err
	}
	return e.fs.Stat(name)
}

type errorFile struct {
	fs   *ErrorFS
	f    File
	name string
}

func (f *errorFile) ReadAt(p []byte, off int64) (int, error) {
	if err := f.fs.check(OpRead, f.name); err != nil {
		return 0, err
	}
	return f.f.ReadAt(p, off)
}

func (f *errorFile) Write(p []byte) (int, error) {
	if err := f.fs.check(OpWrite, f.name); err != nil {
		f.fs.mu.Lock()
		partial := f.fs.partialWrites
		f.fs.mu.Unlock()
		n := 0
		if partial {
			n, _ = f.f.Write(p[:len(p)/2])
		}
		return n, err
	}
	return f.f.Write(p)
}

func (f *errorFile) Close() error {
	if err := f.fs.check(OpClose, f.name); err != nil {
		f.f.Close()
		return err
	}
	return f.f.Close()
}

func (f *errorFile) Sync() error {
	if err := f.fs.check(OpSync, f.name); err != nil {
		return err
	}
	return f.f.Sync()
}

func (f *errorFile) Truncate(size int64) error {
	if err := f.fs.check(OpTruncate, f.name); err != nil {
		return err
	}
	return f.f.Truncate(size)
}

func (f *errorFile) Stat() (os.FileInfo, error) {
	if err := f.fs.check(OpStat, f.name); err != nil {
		return nil, err
	}
	return f.f.Stat()
}

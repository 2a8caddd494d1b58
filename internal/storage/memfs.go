package storage

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// ErrCrashed is returned by a MemFS file that was open when MemFS.Crash was called.
var ErrCrashed = errors.New("storage: file handle from before a simulated crash")

// MemFS is an in-memory FS for tests. Crash simulates power loss: every file's contents go
// back to what they were at its last Sync. Creations, renames and removals are durable at
// once (as if every directory were synced), a simplification that only makes MemFS kinder
// than a real disk about names, never about data.
type MemFS struct {
	mu sync.Mutex
	// Guarded by mu:
	nodes map[string]*memNode // cleaned path -> file or directory
	gen   int                 // incremented by Crash; handles of older generations fail
}

type memNode struct {
	dir bool

	mu sync.RWMutex
	// Guarded by mu:
	data    []byte
	synced  []byte // contents as of the last Sync
	modTime time.Time
}

// NewMemFS returns an empty in-memory FS whose root "/" exists (and "." for relative paths).
func NewMemFS() *MemFS {
	return &MemFS{nodes: map[string]*memNode{
		"/": {dir: true},
		".": {dir: true},
	}}
}

// Crash drops every write that was not followed by a Sync of its file, and makes every file
// handle opened before the crash fail with ErrCrashed.
func (m *MemFS) Crash() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gen++
	for _, n := range m.nodes {
		if n.dir {
			continue
		}
		n.mu.Lock()
		n.data = append([]byte(nil), n.synced...)
		n.mu.Unlock()
	}
}

func (m *MemFS) parentExistsLocked(name string) bool {
	p, ok := m.nodes[filepath.Dir(name)]
	return ok && p.dir
}

// OpenFile supports O_RDONLY, O_WRONLY, O_RDWR, O_CREATE, O_EXCL, O_TRUNC and O_APPEND.
// Opening a directory read-only gives a handle whose Sync does nothing.
func (m *MemFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	name = filepath.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.nodes[name]
	switch {
	case ok && flag&os.O_CREATE != 0 && flag&os.O_EXCL != 0:
		return nil, &os.PathError{Op: "open", Path: name, Err: fs.ErrExist}
	case !ok && flag&os.O_CREATE == 0:
		return nil, &os.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	case !ok:
		if !m.parentExistsLocked(name) {
			return nil, &os.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		n = &memNode{modTime: time.Now()}
		m.nodes[name] = n
	}
	writable := flag&(os.O_WRONLY|os.O_RDWR) != 0
	if n.dir && writable {
		return nil, &os.PathError{Op: "open", Path: name, Err: errors.New("is a directory")}
	}
	if flag&os.O_TRUNC != 0 && writable {
		n.mu.Lock()
		n.data = n.data[:0]
		n.mu.Unlock()
	}
	return &memFile{
		fs: m, node: n, name: name, gen: m.gen,
		readable: flag&os.O_WRONLY == 0,
		writable: writable,
		append:   flag&os.O_APPEND != 0,
	}, nil
}

func (m *MemFS) Remove(name string) error {
	name = filepath.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.nodes[name]
	if !ok {
		return &os.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	if n.dir && len(m.childrenLocked(name)) > 0 {
		return &os.PathError{Op: "remove", Path: name, Err: errors.New("directory not empty")}
	}
	delete(m.nodes, name)
	return nil
}

func (m *MemFS) RemoveAll(name string) error {
	name = filepath.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	prefix := name + string(filepath.Separator)
	for p := range m.nodes {
		if p == name || strings.HasPrefix(p, prefix) {
			delete(m.nodes, p)
		}
	}
	return nil
}

func (m *MemFS) Rename(oldname, newname string) error {
	oldname, newname = filepath.Clean(oldname), filepath.Clean(newname)
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.nodes[oldname]
	if !ok {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: fs.ErrNotExist}
	}
	if !m.parentExistsLocked(newname) {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: fs.ErrNotExist}
	}
	if old, ok := m.nodes[newname]; ok && old.dir != n.dir {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: fs.ErrExist}
	}
	delete(m.nodes, oldname)
	m.nodes[newname] = n
	if n.dir {
		prefix := oldname + string(filepath.Separator)
		for p, c := range m.nodes {
			if strings.HasPrefix(p, prefix) {
				delete(m.nodes, p)
				m.nodes[newname+string(filepath.Separator)+p[len(prefix):]] = c
			}
		}
	}
	return nil
}

func (m *MemFS) MkdirAll(name string, perm os.FileMode) error {
	name = filepath.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	for p := name; ; p = filepath.Dir(p) {
		if n, ok := m.nodes[p]; ok {
			if !n.dir {
				return &os.PathError{Op: "mkdir", Path: p, Err: errors.New("not a directory")}
			}
			break
		}
		m.nodes[p] = &memNode{dir: true, modTime: time.Now()}
		if p == filepath.Dir(p) {
			break
		}
	}
	return nil
}

func (m *MemFS) childrenLocked(dir string) []string {
	var names []string
	for p := range m.nodes {
		if p != dir && filepath.Dir(p) == dir {
			names = append(names, filepath.Base(p))
		}
	}
	sort.Strings(names)
	return names
}

func (m *MemFS) ReadDir(name string) ([]os.DirEntry, error) {
	name = filepath.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.nodes[name]
	if !ok || !n.dir {
		return nil, &os.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	var out []os.DirEntry
	for _, c := range m.childrenLocked(name) {
		out = append(out, fs.FileInfoToDirEntry(m.nodes[filepath.Join(name, c)].info(c)))
	}
	return out, nil
}

func (m *MemFS) Stat(name string) (os.FileInfo, error) {
	name = filepath.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.nodes[name]
	if !ok {
		return nil, &os.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	return n.info(filepath.Base(name)), nil
}

func (n *memNode) info(name string) os.FileInfo {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return memInfo{name: name, size: int64(len(n.data)), dir: n.dir, modTime: n.modTime}
}

type memInfo struct {
	name    string
	size    int64
	dir     bool
	modTime time.Time
}

func (i memInfo) Name() string { return i.name }
func (i memInfo) Size() int64  { return i.size }
func (i memInfo) Mode() os.FileMode {
	if i.dir {
		return os.ModeDir | 0o755
	}
	return 0o644
}
func (i memInfo) ModTime() time.Time { return i.modTime }
func (i memInfo) IsDir() bool        { return i.dir }
func (i memInfo) Sys() any           { return nil }

type memFile struct {
	fs                         *MemFS
	node                       *memNode
	name                       string
	gen                        int
	readable, writable, append bool

	mu     sync.Mutex
	pos    int64 // guarded by mu; write position when !append
	closed bool  // guarded by mu
}

func (f *memFile) check() error {
	f.mu.Lock()
	closed := f.closed
	f.mu.Unlock()
	if closed {
		return os.ErrClosed
	}
	f.fs.mu.Lock()
	gen := f.fs.gen
	f.fs.mu.Unlock()
	if gen != f.gen {
		return ErrCrashed
	}
	return nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	if err := f.check(); err != nil {
		return 0, err
	}
	if !f.readable || f.node.dir {
		return 0, &os.PathError{Op: "read", Path: f.name, Err: errors.New("bad file descriptor")}
	}
	if off < 0 {
		return 0, &os.PathError{Op: "readat", Path: f.name, Err: errors.New("negative offset")}
	}
	f.node.mu.RLock()
	defer f.node.mu.RUnlock()
	if off >= int64(len(f.node.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.node.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	if err := f.check(); err != nil {
		return 0, err
	}
	if !f.writable {
		return 0, &os.PathError{Op: "write", Path: f.name, Err: errors.New("bad file descriptor")}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.node
	n.mu.Lock()
	defer n.mu.Unlock()
	pos := f.pos
	if f.append {
		pos = int64(len(n.data))
	}
	if end := pos + int64(len(p)); end > int64(len(n.data)) {
		if end <= int64(cap(n.data)) {
			n.data = n.data[:end]
		} else {
			grown := make([]byte, end, 2*end)
			copy(grown, n.data)
			n.data = grown
		}
	}
	copy(n.data[pos:], p)
	f.pos = pos + int64(len(p))
	n.modTime = time.Now()
	return len(p), nil
}

func (f *memFile) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return os.ErrClosed
	}
	f.closed = true
	return nil
}

func (f *memFile) Sync() error {
	if err := f.check(); err != nil {
		return err
	}
	n := f.node
	n.mu.Lock()
	n.synced = append(n.synced[:0], n.data...)
	n.mu.Unlock()
	return nil
}

func (f *memFile) Truncate(size int64) error {
	if err := f.check(); err != nil {
		return err
	}
	if !f.writable || size < 0 {
		return &os.PathError{Op: "truncate", Path: f.name, Err: errors.New("invalid argument")}
	}
	n := f.node
	n.mu.Lock()
	defer n.mu.Unlock()
	if size <= int64(len(n.data)) {
		n.data = n.data[:size]
	} else {
		n.data = append(n.data, make([]byte, size-int64(len(n.data)))...)
	}
	return nil
}

func (f *memFile) Stat() (os.FileInfo, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	return f.node.info(filepath.Base(f.name)), nil
}

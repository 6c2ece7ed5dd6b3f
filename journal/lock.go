package journal

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrInUse marks a journal held by another running rolesweep: two runs on
// one journal would both send, and interleave two runs' lines in one file.
var ErrInUse = errors.New("the journal is in use by another rolesweep run")

// ErrSymlink marks a journal path that is a symbolic link. Writing through
// it would put a run's user ids into whatever file the link names.
var ErrSymlink = errors.New("the journal path is a symbolic link")

// PathError is a journal that cannot be used, naming its path: Err is
// ErrInUse, ErrSymlink, or what the system said.
type PathError struct {
	Path string
	Err  error
}

func (e *PathError) Error() string { return fmt.Sprintf("journal %s: %v", e.Path, e.Err) }

func (e *PathError) Unwrap() error { return e.Err }

// openNoFollow opens an existing journal without following a symbolic link
// in its last component.
func openNoFollow(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, &PathError{Path: path, Err: ErrSymlink}
	}
	return f, err
}

// lock takes the exclusive lock that a run holds on its journal until it
// closes the file; it does not wait for another holder. The lock is the
// file's (flock), so it goes with the process: a killed run leaves none.
func lock(path string, f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return &PathError{Path: path, Err: ErrInUse}
		default:
			return &PathError{Path: path, Err: fmt.Errorf("lock: %w", err)}
		}
	}
}

// CheckFree says, before anything is sent, whether a new run may create its
// journal at path: nil when nothing is there or an empty regular file is
// (which Create takes over). It is a *PathError with ErrSymlink or ErrInUse,
// or with ErrUnfinished when the file holds an earlier run's journal. Create
// checks again under the lock; this only lets a run refuse early.
func CheckFree(path string) error {
	info, err := os.Lstat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return &PathError{Path: path, Err: err}
	case info.Mode()&os.ModeSymlink != 0:
		return &PathError{Path: path, Err: ErrSymlink}
	case !info.Mode().IsRegular():
		return &PathError{Path: path, Err: errors.New("not a regular file")}
	}
	f, err := openNoFollow(path, os.O_RDONLY)
	if err != nil {
		return asPathError(path, err)
	}
	defer f.Close()
	if err := lock(path, f); err != nil {
		return err
	}
	if info.Size() > 0 {
		return &PathError{Path: path, Err: ErrUnfinished}
	}
	return nil
}

// ErrUnfinished marks a journal path that already holds a journal: the run
// it records did not finish, and only --resume may continue it.
var ErrUnfinished = errors.New("already holds the journal of an unfinished run")

func asPathError(path string, err error) error {
	var pe *PathError
	if errors.As(err, &pe) {
		return err
	}
	return &PathError{Path: path, Err: err}
}

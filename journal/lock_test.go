package journal

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A symlink journal path is refused by every way in, and the link's target
// is left exactly as it was: v0.1 wrote the journal through the link.
func TestSymlinkJournalIsRefused(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "precious.txt")
	require.NoError(t, os.WriteFile(target, nil, 0o644))
	link := filepath.Join(dir, "run.journal.jsonl")
	require.NoError(t, os.Symlink(target, link))

	_, err := Create(link, testHeader())
	assert.ErrorIs(t, err, ErrSymlink)
	assert.ErrorIs(t, CheckFree(link), ErrSymlink)

	// A link to a real journal is refused for a resume too.
	real, w := createJournal(t)
	require.NoError(t, w.Close())
	resumeLink := filepath.Join(dir, "resume.jsonl")
	require.NoError(t, os.Symlink(real, resumeLink))
	_, _, _, err = Resume(resumeLink)
	assert.ErrorIs(t, err, ErrSymlink)
	var pe *PathError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, resumeLink, pe.Path)

	got, err := os.ReadFile(target)
	require.NoError(t, err)
	assert.Empty(t, got, "the link's target was written")
	// A dangling link is refused as well: O_EXCL does not create its target.
	dangling := filepath.Join(dir, "dangling.jsonl")
	require.NoError(t, os.Symlink(filepath.Join(dir, "nowhere"), dangling))
	_, err = Create(dangling, testHeader())
	assert.ErrorIs(t, err, ErrSymlink)
	_, err = os.Stat(filepath.Join(dir, "nowhere"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// One journal, one run: while a Writer holds the journal, neither a second
// Create nor a Resume gets it; once closed, a Resume does. flock locks
// belong to the open file, so this holds within one process as between two.
func TestJournalIsLockedWhileInUse(t *testing.T) {
	path, w := createJournal(t)
	mustRecord(t, w, testEntry("", "auth0|a", "removed"))

	_, err := Create(path, testHeader())
	assert.ErrorIs(t, err, ErrInUse)
	_, _, _, err = Resume(path)
	assert.ErrorIs(t, err, ErrInUse)
	assert.ErrorIs(t, CheckFree(path), ErrInUse)

	require.NoError(t, w.Close())
	assert.ErrorIs(t, CheckFree(path), ErrUnfinished)
	resumed, h, entries, err := Resume(path)
	require.NoError(t, err)
	assert.Equal(t, testHeader().InputSHA256, h.InputSHA256)
	assert.Len(t, entries, 1)
	// The resumed run holds it in turn.
	_, _, _, err = Resume(path)
	assert.ErrorIs(t, err, ErrInUse)
	require.NoError(t, resumed.Close())
}

// An empty file held by another run (it created it an instant before and is
// about to write its header) is not taken over, and not removed either.
func TestCreateDoesNotTakeOverALockedEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.journal.jsonl")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, lock(path, f))

	_, err = Create(path, testHeader())
	assert.ErrorIs(t, err, ErrInUse)
	assert.ErrorIs(t, CheckFree(path), ErrInUse)
	_, err = os.Stat(path)
	assert.NoError(t, err, "the other run's file was removed")
}

func TestCheckFree(t *testing.T) {
	dir := t.TempDir()
	assert.NoError(t, CheckFree(filepath.Join(dir, "new.jsonl")))
	empty := filepath.Join(dir, "empty.jsonl")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	assert.NoError(t, CheckFree(empty))
	var pe *PathError
	err := CheckFree(dir)
	require.ErrorAs(t, err, &pe)
	assert.False(t, errors.Is(err, ErrInUse))
}

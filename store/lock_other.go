//go:build !unix

package store

import "os"

// unlockFile: elsewhere closing the file releases bbolt's lock.
func unlockFile(*os.File) {}

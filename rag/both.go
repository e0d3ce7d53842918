package rag

// both runs here on this goroutine and there on another, and returns once
// both have stopped. A panic in either is raised again here, after both
// have stopped: the request's recovery sees it (a panic on another
// goroutine ends the process), and the caller's read lock is not released
// while the other still reads the index.
func both(here, there func()) {
	done := make(chan any, 1)
	go func() {
		defer func() { done <- recover() }()
		there()
	}()
	mine := func() (r any) {
		defer func() { r = recover() }()
		here()
		return nil
	}()
	if theirs := <-done; mine == nil {
		mine = theirs
	}
	if mine != nil {
		panic(mine)
	}
}

package chat

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
)

func TestConvLocksFIFO(t *testing.T) {
	var l convLocks
	l.m = map[string]*convQueue{}
	unlock, err := l.lock(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	order := make(chan int, 3)
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u, err := l.lock(context.Background(), "k")
			if err != nil {
				t.Error(err)
				return
			}
			order <- i
			u()
		}()
		for l.waiting("k") != i+1 { // queue them in a known order
			runtime.Gosched()
		}
	}
	unlock()
	for want := range 3 {
		if got := <-order; got != want {
			t.Fatalf("turn %d went to %d", want, got)
		}
	}
	wg.Wait()
	if len(l.m) != 0 {
		t.Fatalf("%d keys left", len(l.m))
	}
}

func TestConvLocksCancelWhileWaiting(t *testing.T) {
	l := convLocks{m: map[string]*convQueue{}}
	unlock, _ := l.lock(context.Background(), "k")
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := l.lock(ctx, "k"); errc <- err }()
	for l.waiting("k") != 1 {
		runtime.Gosched()
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	unlock()
	if len(l.m) != 0 {
		t.Fatalf("%d keys left after cancel", len(l.m))
	}
	// The key is free again.
	u, err := l.lock(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	u()
}

package store

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// maxHeldScan bounds how far back in a conversation HandHeld looks for
// held messages: they pile up only between two user messages.
const maxHeldScan = 500

// HandHeld hands over the held messages of incoming message id's
// conversation (agent replies and notices with nowhere to be delivered):
// in one transaction they become sent, with DeliveredAt, and their ids are
// recorded on the incoming message, which returns them from then on
// (HandedWith). It returns them oldest first; none is handed twice.
func (s *Store) HandHeld(id uint64) ([]Message, error) {
	// Most turns have nothing held: one read of the count of held
	// messages answers that without a write transaction. A message held
	// after this read goes with the user's next message, as one held a
	// moment later would.
	var any bool
	err := s.view(func(tx *bolt.Tx) error {
		if _, err := getMessageTx(tx, id); err != nil {
			return err
		}
		any = tx.Bucket(bucketMessageCounts).Get(comboKey(1<<2, indexFields{status: string(StatusHeld)})) != nil
		return nil
	})
	if err != nil || !any {
		return nil, err
	}
	var out []Message
	err = s.batch(func(tx *bolt.Tx) error {
		out = nil // batch may run this twice
		in, err := getMessageTx(tx, id)
		if err != nil {
			return err
		}
		prefix := in.Ref().key()
		c := tx.Bucket(bucketConvMessages).Cursor()
		k, _ := c.Seek(append(clone(prefix), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))
		if k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
		var held []uint64
		for n := 0; k != nil && n < maxHeldScan && len(k) == len(prefix)+8 && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
			n++
			m, err := getMessageTx(tx, btoi(k[len(prefix):]))
			if err != nil {
				return err
			}
			if m.Status == StatusHeld {
				held = append(held, m.ID)
			}
		}
		if len(held) == 0 {
			return nil
		}
		now := s.now().UTC()
		for i := len(held) - 1; i >= 0; i-- { // oldest first
			m, err := updateMessageTx(tx, held[i], now, func(m *Message) error {
				m.Status, m.DeliveredAt = StatusSent, now
				return nil
			})
			if err != nil {
				return err
			}
			out = append(out, *m)
			in.Handed = append(in.Handed, m.ID)
		}
		_, err = updateMessageTx(tx, id, now, func(m *Message) error {
			m.Handed = in.Handed
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("hand over held messages with message %d: %w", id, err)
	}
	return out, nil
}

// HandedWith returns the messages handed over with incoming message in
// (for a platform's retry of it), oldest first.
func (s *Store) HandedWith(in *Message) ([]Message, error) {
	if len(in.Handed) == 0 {
		return nil, nil
	}
	out := make([]Message, 0, len(in.Handed))
	err := s.view(func(tx *bolt.Tx) error {
		for _, id := range in.Handed {
			m, err := getMessageTx(tx, id)
			if err != nil {
				return err
			}
			out = append(out, *m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("messages handed with message %d: %w", in.ID, err)
	}
	return out, nil
}

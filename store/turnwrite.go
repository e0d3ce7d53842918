package store

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TurnWrite is a record of a turn written in the same transaction as its
// reply (InsertReply, RecordHandled): the conversation's memory and the
// turn's outcome. A synchronous request then waits for one commit instead
// of three, and the memory can never say a reply was given that the
// history does not hold. Like every batched write it must be safe to run
// twice (the group commit may rerun a batch): each starts from the stored
// state.
type TurnWrite interface {
	applyTx(t turnTx) error
}

// turnTx is what a TurnWrite writes with: the transaction, its time, the
// stored answer (nil when the turn has none) and the store's memory cache.
type turnTx struct {
	tx    *bolt.Tx
	now   time.Time
	reply *Message
	memos *memoCache
}

// MemoryAppend appends Turns to the memory of Ref, trimmed to Budget
// tokens and MaxTurns turns (AppendTurns in the reply's transaction).
// Base is the memory as the caller read it (Store.Conversation), nil when
// it read none: while the stored record is still that one, it is not
// decoded a second time (decoding the memory twice per turn was 6% of the
// server's CPU under load).
type MemoryAppend struct {
	Ref              ConvRef
	Budget, MaxTurns int
	Turns            []Turn
	Base             *Conversation
}

func (m MemoryAppend) applyTx(t turnTx) error {
	if len(m.Turns) == 0 {
		return nil
	}
	c, err := appendTurnsTx(t.tx, m.Ref, t.now, m.Budget, m.MaxTurns, m.Turns, m.Base)
	if err == nil && t.memos != nil {
		// The next turn reads this memory: kept decoded, it is not
		// decoded again (a rolled-back write leaves another record, which
		// the cache then misses).
		t.memos.put(m.Ref.key(), c)
	}
	return err
}

// TurnOutcome records the turn's outcome (RecordTurn in the reply's
// transaction); a gap question gets the reply's id as its answer, and
// the incoming message's id when it was not stored yet. The
// outcome is bookkeeping: its failure (a damaged outcome record) must not
// fail the reply, so it goes to OnError and the reply is stored anyway.
type TurnOutcome struct {
	Event   TurnEvent
	Quiet   time.Duration
	OnError func(error)
}

func (o TurnOutcome) applyTx(t turnTx) error {
	tx, reply := t.tx, t.reply
	ev := o.Event
	if ev.Gap != nil && reply != nil {
		gap := *ev.Gap
		gap.AnswerID = reply.ID
		if gap.QuestionID == 0 { // the question is stored in this transaction too (NewIncoming)
			gap.QuestionID = reply.ReplyTo
		}
		ev.Gap = &gap
	}
	if err := recordTurnWithGapTx(tx, ev, o.Quiet); err != nil && o.OnError != nil {
		o.OnError(err)
	} else if err != nil {
		return err
	}
	return nil
}

func applyTurnWritesTx(t turnTx, writes []TurnWrite) error {
	for _, w := range writes {
		if w == nil {
			continue
		}
		if err := w.applyTx(t); err != nil {
			return err
		}
	}
	return nil
}

// appendTurnsTx is AppendTurns inside tx; base, when it is the stored
// record, saves decoding it.
func appendTurnsTx(tx *bolt.Tx, ref ConvRef, now time.Time, budget, maxTurns int, turns []Turn, base *Conversation) (Conversation, error) {
	var c Conversation
	b := tx.Bucket(bucketConversations)
	key := ref.key()
	if v := b.Get(key); v != nil {
		if base != nil && base.stored.n > 0 && base.stored == sumOf(v) {
			c = *base
			c.Turns = append(make([]Turn, 0, len(base.Turns)+len(turns)), base.Turns...)
		} else if err := json.Unmarshal(v, &c); err != nil {
			return Conversation{}, fmt.Errorf("decode %s: %w", ref, err)
		}
	}
	c.ConfigID, c.WidgetID, c.Platform, c.ConversationID, c.UpdatedAt = ref.ConfigID, ref.WidgetID, ref.Platform, ref.ConversationID, now
	for _, t := range turns {
		if t.At.IsZero() {
			t.At = now
		}
		c.Turns = append(c.Turns, t)
	}
	c.TotalTurns += len(turns)
	c.Turns = trimTurns(c.Turns, budget, maxTurns)
	data, err := json.Marshal(c)
	if err != nil {
		return Conversation{}, fmt.Errorf("encode %s: %w", ref, err)
	}
	if err := b.Put(key, data); err != nil {
		return Conversation{}, fmt.Errorf("write memory of %s: %w", ref, err)
	}
	c.stored = sumOf(data)
	return c, nil
}

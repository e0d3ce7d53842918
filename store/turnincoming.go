package store

import (
	"errors"
	"time"

	bolt "go.etcd.io/bbolt"
)

// NewIncoming is the incoming message of a synchronous turn, stored in
// its reply's transaction: InsertReply(0, reply, deliver, &NewIncoming{...},
// memory, outcome) writes the message, its dedupe key, the reply, the
// memory and the outcome in one commit, where a turn used to wait for two
// in a row (the message on arrival, then the rest).
//
// A crash before that commit loses the message. That is acceptable only
// because the caller (the platform's synchronous webhook, the widget,
// /api/ask) has had no success response yet: it sees the connection fail
// and sends again. Channels that answer later (202) store the message
// alone first (InsertIncoming).
//
// The dedupe key is checked in the same transaction: when the platform's
// message id is already stored (a retry stored it alone, or the turn's
// own failure path did) and still unanswered, the reply goes to that
// message; when it is answered already, nothing of this turn is written
// (AnsweredBefore, and Result is the earlier message and its answer).
type NewIncoming struct {
	Message   *Message
	Retention time.Duration // how long the message id is remembered
	// Result is set by InsertReply: the stored incoming message (with the
	// reply recorded on it) or the earlier one this turn turned out to
	// repeat.
	Result IncomingResult
	// AnsweredBefore: the message id was stored and answered already;
	// nothing of the turn was written and Result is the earlier outcome.
	AnsweredBefore bool
}

// applyTx refuses to be applied as an ordinary turn record: the message
// must be stored before its reply, which only InsertReply does.
func (n *NewIncoming) applyTx(turnTx) error {
	return errors.New("store: NewIncoming is written by InsertReply with incoming id 0, not as a turn record")
}

// insertTx stores the message, with reply recorded on it, unless its id
// is stored; done is true when the stored one is already answered
// (nothing more to write).
func (n *NewIncoming) insertTx(tx *bolt.Tx, now time.Time, reply *Message) (done bool, err error) {
	n.Result, err = insertIncomingTx(tx, n.Message, n.Retention, now, reply)
	if err != nil {
		return false, err
	}
	first := n.Result.Message
	n.AnsweredBefore = n.Result.Duplicate && (first.ResponseID != 0 || first.ResponseType != "")
	return n.AnsweredBefore, nil
}

// splitNewIncoming takes the NewIncoming out of with, if there is one.
func splitNewIncoming(with []TurnWrite) (*NewIncoming, []TurnWrite) {
	for i, w := range with {
		if n, ok := w.(*NewIncoming); ok && n != nil {
			rest := append(append(make([]TurnWrite, 0, len(with)-1), with[:i]...), with[i+1:]...)
			return n, rest
		}
	}
	return nil, with
}

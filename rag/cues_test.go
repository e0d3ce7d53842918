package rag

import "testing"

// Each question type picks, among sentences that match the same words,
// the one that carries the kind of fact it asks for (one sentence asked).
func TestExtractQuestionCues(t *testing.T) {
	for _, c := range []struct {
		question, text, want string
	}{
		{"Do you ship to the USA?",
			"Shipping is handled by our partners across Europe. We do not ship to the United States or Canada.",
			"We do not ship to the United States or Canada."},
		{"How much is shipping?",
			"Shipping is tracked from our warehouse. Shipping within Germany costs 4.90 EUR.",
			"Shipping within Germany costs 4.90 EUR."},
		{"When does support answer?",
			"Support answers every question in writing. Support answers from Monday to Friday, 9:00 to 17:00.",
			"Support answers from Monday to Friday, 9:00 to 17:00."},
		{"¿Cuánto cuesta el envío?",
			"El envío se hace con mensajería urgente. El envío cuesta 4,95 euros.",
			"El envío cuesta 4,95 euros."},
		// No cue: the first of equal sentences, as before.
		{"shipping partners",
			"Shipping partners are listed below. Shipping partners change yearly in 2025.",
			"Shipping partners are listed below."},
	} {
		ps := []Passage{{Title: "Help", Source: "help.md", Score: 0.5, Text: c.text}}
		got, _ := Extract(c.question, ps, 1)
		if want := "> " + c.want + "\n  (Help)"; got != want {
			t.Errorf("%q:\n got %q\nwant %q", c.question, got, want)
		}
	}
}

func TestCueOf(t *testing.T) {
	for q, want := range map[string]questionCue{
		"Do you ship to the USA?":          cueYesNo,
		"can I pay with PayPal":            cueYesNo,
		"How much does the kettle cost?":   cueAmount,
		"what does it cost":                cueAmount,
		"¿Cuánto cuesta?":                  cueAmount,
		"how long does a refund take?":     cueTime,
		"When will my parcel arrive?":      cueTime,
		"Wann kommt mein Paket?":           cueTime,
		"my kettle is broken":              cueNone,
		"what are your opening hours?":     cueHours,
		"Combien coûte la livraison ?":     cueAmount,
		"Est-ce que vous livrez en Suisse": cueYesNo,
	} {
		if got := cueOf(q); got != want {
			t.Errorf("cueOf(%q) = %d, want %d", q, got, want)
		}
	}
}

// Contact questions are told by the detail they ask for, in any position;
// the customer's own details ("my email") are an account question.
func TestCueOfContact(t *testing.T) {
	for q, want := range map[string]questionCue{
		"what are your opening hours?":              cueHours,
		"When are you open on Saturday?":            cueHours,
		"what time can I call you":                  cueHours,
		"when can I reach support":                  cueHours,
		"Wie sind Ihre Öffnungszeiten?":             cueHours,
		"¿A qué hora abre la tienda?":               cueHours,
		"quels sont vos horaires":                   cueHours,
		"do you have a phone number":                cuePhone,
		"Is there a hotline?":                       cuePhone,
		"how can I call customer service":           cuePhone,
		"¿cuál es vuestro teléfono?":                cuePhone,
		"what's your email address":                 cueEmail,
		"can I send you an e-mail":                  cueEmail,
		"how can I change my email":                 cueNone,
		"my phone number changed, update it":        cueNone,
		"how long does a refund take?":              cueTime,
		"when will my order arrive":                 cueTime,
		"how much does a call to support cost?":     cueAmount,
		"will you call me when it ships":            cueYesNo,
		"how long until I get a confirmation email": cueTime,
		"Do I get a confirmation mail?":             cueYesNo,
		"how do I call support":                     cuePhone,
		"can you tell me your opening hours":        cueHours,
		"Quelle est votre adresse e-mail ?":         cueEmail,
	} {
		if got := cueOf(q); got != want {
			t.Errorf("cueOf(%q) = %d, want %d", q, got, want)
		}
	}
}

// What each contact cue takes as its answer, and what it does not.
func TestCarriesContactCue(t *testing.T) {
	for _, c := range []struct {
		cue      questionCue
		sentence string
		want     bool
	}{
		{cueHours, "Our support team is available Monday to Friday from 9:00 to 17:00 (CET).", true},
		{cueHours, "The showroom is open on Saturdays from 10:00 to 14:00.", true},
		{cueHours, "We answer calls from 9 am - 5 pm.", true},
		{cueHours, "Wir sind montags bis freitags von 8 bis 18 Uhr für Sie da.", true},
		{cueHours, "Atendemos de lunes a viernes.", true},
		{cueHours, "Our chat is staffed 24/7.", true},
		{cueHours, "Orders placed before 14:00 leave the warehouse the same day.", false},
		{cueHours, "Delivery takes 2 to 4 working days.", false},
		{cueHours, "The link is valid for one hour.", false},
		{cueHours, "The Nimbus heats from 40 to 100 °C.", false},
		{cuePhone, "Call us on +49 30 1234 5678 or write to us.", true},
		{cuePhone, "Ring (030) 123-4567 for help.", true},
		{cuePhone, "Our hotline: 0800 123 456.", true},
		{cuePhone, "Visit us at Kastanienallee 12, 10435 Berlin.", false},
		{cuePhone, "Prices changed on 2026-01-15.", false},
		{cuePhone, "It costs 4.99 EUR per month.", false},
		{cuePhone, "Enter the serial number under the base.", false},
		{cueEmail, "Write to support@kettlewise.example.", true},
		{cueEmail, "Enter your email address on the login page.", false},
	} {
		if got := carriesCue(c.cue, c.sentence); got != c.want {
			t.Errorf("carriesCue(%d, %q) = %v, want %v", c.cue, c.sentence, got, c.want)
		}
	}
}

// A contact question is answered by the sentences holding the detail, even
// when they share no word with it, and only by them when one does: the
// password page's "one hour" is no opening hours.
func TestExtractContactCues(t *testing.T) {
	ps := []Passage{
		{Title: "Your account", Source: "account.md", Score: 0.6,
			Text: "Click Forgot password and enter your email address. The link is valid for one hour. Enter the serial number of your kettle."},
		{Title: "Contact us", Source: "contact.html", Score: 0.3,
			Text: "Our support team is available Monday to Friday from 9:00 to 17:00. Call us on +49 30 1234 5678 or write to support@kettlewise.example."},
	}
	for q, want := range map[string]string{
		"what are your opening hours?": "> Our support team is available Monday to Friday from 9:00 to 17:00.\n  (Contact us)",
		"do you have a phone number":   "> Call us on +49 30 1234 5678 or write to support@kettlewise.example.\n  (Contact us)",
		"what's your email address":    "> Call us on +49 30 1234 5678 or write to support@kettlewise.example.\n  (Contact us)",
	} {
		if got, _ := Extract(q, ps, 3); got != want {
			t.Errorf("%q:\n got %q\nwant %q", q, got, want)
		}
	}
}

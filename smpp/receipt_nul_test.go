package smpp

import "testing"

// A NUL before a key made the key part of the stat value on the first
// parse but a key of its own once the receipt was written out and parsed
// again. Found by FuzzParseReceipt.
func TestRegressionReceiptNULSeparator(t *testing.T) {
	first, err := ParseReceipt("id:0 teXt: stAt:\x00teXt:")
	if err != nil {
		t.Fatalf("ParseReceipt: %v", err)
	}
	again, err := ParseReceipt(first.String())
	if err != nil {
		t.Fatalf("ParseReceipt(%q): %v", first.String(), err)
	}
	if again.ID != first.ID {
		t.Errorf("ID after round trip = %q, want %q", again.ID, first.ID)
	}
	if again.Stat != first.Stat {
		t.Errorf("Stat after round trip = %q, want %q", again.Stat, first.Stat)
	}

	r, err := ParseReceipt("id:00B8BE19\x00stat:DELIVRD\x00err:000\x00text:hi")
	if err != nil {
		t.Fatalf("ParseReceipt with NUL separators: %v", err)
	}
	if r.ID != "00B8BE19" {
		t.Errorf("ID = %q, want %q", r.ID, "00B8BE19")
	}
	if r.Stat != "DELIVRD" {
		t.Errorf("Stat = %q, want %q", r.Stat, "DELIVRD")
	}
	if r.Err != "000" {
		t.Errorf("Err = %q, want %q", r.Err, "000")
	}
	if r.Text != "hi" {
		t.Errorf("Text = %q, want %q", r.Text, "hi")
	}
}

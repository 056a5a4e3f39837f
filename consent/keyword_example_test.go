package consent_test

import (
	"fmt"

	"github.com/optgate/optgate/consent"
)

func ExampleClassify() {
	for _, text := range []string{
		"  stop \r\n",
		"Stop\u2026",
		"We have got to STOP this bill",
		"Please don't text me anymore.",
		"Yes!",
	} {
		m := consent.Classify(text)
		fmt.Printf("%q: %s %q free_text=%v\n", text, m.Keyword, m.Word, m.FreeText)
	}
	// Output:
	// "  stop \r\n": opt_out "stop" free_text=false
	// "Stop…": opt_out "stop" free_text=false
	// "We have got to STOP this bill": none "" free_text=false
	// "Please don't text me anymore.": opt_out "do not text me" free_text=true
	// "Yes!": opt_in "yes" free_text=false
}

func ExampleNewClassifier() {
	cfg := consent.DefaultKeywords()
	cfg.OptOutOther = append(cfg.OptOutOther, "DETENER")
	c, err := consent.NewClassifier(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Classify("¡Detener!").Keyword)
	// Output: opt_out
}

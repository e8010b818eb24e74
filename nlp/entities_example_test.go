package nlp_test

import (
	"fmt"
	"time"

	"github.com/shopchat/shopchat/nlp"
)

func ExampleExtractor_Extract() {
	ex, err := nlp.NewExtractor(nlp.ExtractorConfig{Location: time.UTC})
	if err != nil {
		panic(err)
	}
	ex.SetProducts([]nlp.ProductName{{SKU: "BT-100", Name: "Alpine Hiking Boot"}})
	now := time.Date(2026, 11, 28, 15, 0, 0, 0, time.UTC) // a Saturday
	for _, e := range ex.Extract("Hi! 2 pairs of alpine hiking boots, order #A10023, ordered last friday for €89,90", now) {
		fmt.Printf("%s %q -> %s\n", e.Type, e.Text, e.Value)
	}
	// Output:
	// quantity "2 pairs" -> 2
	// product "alpine hiking boots" -> BT-100
	// order_number "#A10023" -> A10023
	// date "last friday" -> 2026-11-27
	// money "€89,90" -> 89.90 EUR
}

func ExampleExtractor_Mask() {
	ex, _ := nlp.NewExtractor(nlp.ExtractorConfig{})
	fmt.Println(ex.Mask("order #A10023, I'm sam@mail.com, +44 20 7946 0958,\nSW1A 1AA"))
	// Output:
	// order [ORDER], I'm [EMAIL], [PHONE], [POSTCODE]
}

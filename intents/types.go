// Package intents is the intent network: a neural classifier (libtorch through gotch) that maps a
// normalised, tokenized message to ranked intents with calibrated probabilities, an out-of-scope
// decision and an ambiguity flag.
package intents

// OutOfScope is the intent reported for a message the model was not trained for.
const OutOfScope = "oos"

// Prediction is one intent with its calibrated probability.
type Prediction struct {
	Intent     string  `json:"intent"`
	Confidence float64 `json:"confidence"`
}

// Result is the classification of one message.
type Result struct {
	// Intent is the top intent, or OutOfScope when the confidence is under the model's threshold.
	Intent     string  `json:"intent"`
	Confidence float64 `json:"confidence"`
	// Ranked holds the top intents, most probable first (at most the model's configured top-k).
	Ranked []Prediction `json:"ranked"`
	// OutOfScope is true when the message is outside what the model was trained for.
	OutOfScope bool `json:"out_of_scope"`
	// Ambiguous is true when the top two are within the configured gap: the dialogue may ask which
	// one was meant (Ranked[0] and Ranked[1]).
	Ambiguous bool `json:"ambiguous"`
	// ModelVersion is the content hash of the model that answered.
	ModelVersion string `json:"model_version"`
}

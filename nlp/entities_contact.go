package nlp

import (
	"regexp"
	"strings"
)

// Identifiers: order numbers, emails, phones, tracking numbers, payment cards and postcodes.

var (
	reEmail = regexp.MustCompile(`[a-z0-9][a-z0-9._%+-]*@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.[a-z]{2,24}\b`)

	// Phones: international (+ or 00), national with a trunk 0, North American.
	rePhoneIntl     = regexp.MustCompile(`(?:\+|\b00)[1-9]\d{0,2}(?:[ .-]?\(0\))?(?:[ .-]?\(?\d{1,5}\)?){1,6}`)
	rePhoneNational = regexp.MustCompile(`\(?\b0\d{1,4}\)?(?:[ ./-]?\d{2,8}){1,4}\b`)
	rePhoneNANP     = regexp.MustCompile(`(?:\b1[ .-])?\(?\b[2-9]\d{2}\)?[ .-]?\d{3}[ .-]?\d{4}\b`)

	// Tracking numbers.
	reUPS           = regexp.MustCompile(`\b1z(?: ?[0-9a-z]){16}\b`)
	reS10           = regexp.MustCompile(`\b[a-z]{2} ?\d{3} ?\d{3} ?\d{3} ?[a-z]{2}\b`)
	reCarrierPrefix = regexp.MustCompile(`\b(?:gm\d{16,18}|jjd\d{18,20}|jvgl\d{10,20}|tba\d{12})\b`)
	reDigitRun      = regexp.MustCompile(`\b\d{4}(?:[ -]\d{4}){2,7}(?:[ -]\d{1,3})?\b|\b\d{10,34}\b`)

	reCard = regexp.MustCompile(`\b\d(?:[ -]?\d){12,18}\b`)

	// Postcodes.
	reUKPostcode = regexp.MustCompile(`\b(?:gir ?0aa|[a-pr-uwyz][a-hk-y]?\d[a-z\d]? ?\d[abd-hjlnp-uw-z]{2})\b`)
	reZipPlus4   = regexp.MustCompile(`\b\d{5}-\d{4}\b`)
	reFiveDigits = regexp.MustCompile(`\b\d{5}\b`)
)

var (
	trackingKeywords = []string{"track", "tracking", "dhl", "waybill", "awb", "shipment", "parcel", "package", "consignment", "sendung", "sendungsnummer", "ups", "fedex", "usps"}
	postcodeKeywords = []string{"zip", "zipcode", "zip code", "postcode", "post code", "postal code", "postal", "plz", "postleitzahl"}
	orderKeywords    = []string{"order", "ref", "reference", "invoice", "bestellung", "bestellnummer"}
	usStates         = "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR"
)

func (e *Extractor) findEmails(s *entityScan) {
	for _, m := range reEmail.FindAllStringIndex(s.lower, -1) {
		s.add(m[0], m[1], EntityEmail, s.lower[m[0]:m[1]])
	}
}

func (e *Extractor) findOrders(s *entityScan) {
	for _, m := range s.orderMatches(e) {
		vs, ve := m[0], m[1]
		if e.orderNum > 0 && m[2*e.orderNum] >= 0 {
			vs, ve = m[2*e.orderNum], m[2*e.orderNum+1]
		}
		s.add(m[0], m[1], EntityOrderNumber, entOnlyAlnumUpper(s.text[vs:ve]))
	}
}

func (e *Extractor) findPhones(s *entityScan) {
	for _, m := range s.inDigits(rePhoneIntl, s.text, regionNeed{cluster: 8}) {
		start, end := m[0], m[1]
		// Drop trailing groups until the number has at most 15 digits (E.164's limit), so a number
		// followed by another one ("+44 20 7946 0958 10023") still counts.
		for end > start && entCountDigits(s.text[start:end]) > 15 {
			end = lastGroupEnd(s.text, start, end)
		}
		for end > start && !entIsDigit(s.text[end-1]) && s.text[end-1] != ')' {
			end--
		}
		raw := strings.Replace(s.text[start:end], "(0)", "", 1)
		d := entOnlyDigits(raw)
		if strings.HasPrefix(raw, "00") {
			d = d[2:]
		}
		if len(d) < 8 || len(d) > 15 {
			continue
		}
		s.add(start, end, EntityPhone, "+"+d)
	}
	for _, m := range s.inDigits(rePhoneNational, s.text, regionNeed{cluster: 9}) {
		start, end := m[0], m[1]
		for end > start && entCountDigits(s.text[start:end]) > 12 {
			end = lastGroupEnd(s.text, start, end)
		}
		for end > start && !entIsDigit(s.text[end-1]) {
			end--
		}
		d := entOnlyDigits(s.text[start:end])
		if len(d) < 9 || len(d) > 12 || d[1] == '0' {
			continue
		}
		if e.phoneCC != "" {
			d = "+" + e.phoneCC + d[1:]
		}
		s.add(start, end, EntityPhone, d)
	}
	for _, m := range s.inDigits(rePhoneNANP, s.text, regionNeed{cluster: 10}) {
		start := m[0]
		if start > 0 && (s.text[start-1] == '+' || entIsDigit(s.text[start-1])) {
			continue
		}
		d := entOnlyDigits(s.text[start:m[1]])
		if len(d) == 11 {
			d = d[1:]
		}
		if e.phoneCC == "1" {
			d = "+1" + d
		}
		s.add(start, m[1], EntityPhone, d)
	}
}

// entCountDigits counts the ASCII digits of s.
func entCountDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if entIsDigit(s[i]) {
			n++
		}
	}
	return n
}

// lastGroupEnd returns the end of the last digit group of text[start:end] but one: the offset of the last
// separator before the final group, or start when there is none.
func lastGroupEnd(text string, start, end int) int {
	i := end
	for i > start && (entIsDigit(text[i-1]) || text[i-1] == ')' || text[i-1] == '(') {
		i--
	}
	if i == end {
		return end - 1
	}
	return i
}

func (e *Extractor) findTracking(s *entityScan) {
	for _, m := range s.inDigits(reUPS, s.lower, regionNeed{mixed: true}) {
		s.add(m[0], m[1], EntityTracking, entOnlyAlnumUpper(s.text[m[0]:m[1]]))
	}
	for _, m := range s.inDigits(reS10, s.lower, regionNeed{cluster: 9}) {
		raw := s.text[m[0]:m[1]]
		// Spaced forms ("RR 123 456 789 GB") only in capitals, so "in 123 456 789 at" is not one.
		if strings.IndexByte(raw, ' ') >= 0 && raw != strings.ToUpper(raw) {
			continue
		}
		s.add(m[0], m[1], EntityTracking, entOnlyAlnumUpper(raw))
	}
	for _, m := range s.inDigits(reCarrierPrefix, s.lower, regionNeed{cluster: 10, mixed: true}) {
		s.add(m[0], m[1], EntityTracking, entOnlyAlnumUpper(s.text[m[0]:m[1]]))
	}
	for _, m := range s.inDigits(reDigitRun, s.text, regionNeed{cluster: 10}) {
		d := entOnlyDigits(s.text[m[0]:m[1]])
		context := entLastKeyword(s.before(m[0], 40), trackingKeywords) >= 0
		switch len(d) {
		case 12, 14, 15, 20, 22, 26, 30, 34:
			if d[0] == '0' && !context {
				continue
			}
		case 10:
			if !context {
				continue
			}
		default:
			continue
		}
		s.add(m[0], m[1], EntityTracking, d)
	}
}

// findCards finds payment-card numbers (Luhn-valid, with a card-like length and prefix) so that they
// are masked in logs and never reported as another entity.
func (e *Extractor) findCards(s *entityScan) {
	for _, m := range s.inDigits(reCard, s.text, regionNeed{cluster: 13}) {
		d := entOnlyDigits(s.text[m[0]:m[1]])
		ok := false
		switch {
		case len(d) == 16 && d[0] >= '2' && d[0] <= '6':
			ok = true
		case len(d) == 15 && (strings.HasPrefix(d, "34") || strings.HasPrefix(d, "37")):
			ok = true
		case (len(d) == 13 || len(d) == 19) && d[0] == '4':
			ok = true
		}
		if ok && entLuhn(d) {
			s.add(m[0], m[1], entityCard, d)
		}
	}
}

// entLuhn reports whether the digit string d passes the Luhn check.
func entLuhn(d string) bool {
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		n := int(d[i] - '0')
		if double {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
		double = !double
	}
	return sum%10 == 0
}

func (e *Extractor) findPostcodes(s *entityScan) {
	for _, m := range s.inDigits(reUKPostcode, s.lower, regionNeed{cluster: 1, mixed: true, inward: true}) {
		v := entOnlyAlnumUpper(s.text[m[0]:m[1]])
		s.add(m[0], m[1], EntityPostcode, v[:len(v)-3]+" "+v[len(v)-3:])
	}
	for _, m := range s.inDigits(reZipPlus4, s.text, regionNeed{cluster: 9}) {
		s.add(m[0], m[1], EntityPostcode, s.text[m[0]:m[1]])
	}
	for _, m := range s.inDigits(reFiveDigits, s.text, regionNeed{cluster: 5}) {
		if s.postcodeContext(m[0], m[1]) {
			s.add(m[0], m[1], EntityPostcode, s.text[m[0]:m[1]])
		}
	}
}

// postcodeContext reports whether the five digits at text[start:end] read as a postcode rather than an
// order number: a postcode keyword ("zip", "postcode", "PLZ") closer than any order keyword, a US state
// code just before ("NY 10023"), or a German address form (", 10115 Berlin").
func (s *entityScan) postcodeContext(start, end int) bool {
	// The keyword must be the last one before the number, with no other number in between ("zip 94105
	// and 10023": only 94105).
	w := s.before(start, 24)
	if p := entLastKeyword(w, postcodeKeywords); p >= 0 && p > entLastKeyword(w, orderKeywords) && !strings.ContainsAny(w[p:], "0123456789") {
		return true
	}
	t := s.text
	if start >= 3 && t[start-1] == ' ' {
		i := start - 1
		if i > 0 && t[i-1] == ',' {
			i--
		}
		if i >= 2 && (i == 2 || !entIsWordByte(t[i-3])) {
			st := t[i-2 : i]
			if st[0] >= 'A' && st[0] <= 'Z' && st[1] >= 'A' && st[1] <= 'Z' && strings.Contains(usStates, st) {
				return true
			}
		}
	}
	// An address line: ", 10115 Berlin".
	j := start - 1
	for j >= 0 && t[j] == ' ' {
		j--
	}
	if j >= 0 && t[j] == ',' {
		if end+3 < len(t) && t[end] == ' ' && t[end+1] >= 'A' && t[end+1] <= 'Z' && t[end+2] >= 'a' && t[end+2] <= 'z' && (t[end+3] >= 'a' && t[end+3] <= 'z' || t[end+3] >= 0x80) {
			return true
		}
	}
	return false
}

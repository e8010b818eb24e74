// Command gen writes the demo shop's generated files (products, customers, orders and browsing
// signals of "Fernwood & Co.") into kb/demo with a fixed seed, so the output is reproducible:
//
//	go run ./kb/demo/gen -out kb/demo
//
// The FAQs (faqs.yaml) and answer templates (answers.yaml) are written by hand.
package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Reference is the generated data's "today"; kb.LoadDemo shifts every date so that it becomes the
// day the demo is loaded.
var Reference = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

type ptype struct {
	name      string
	code      string
	price     [2]float64
	materials []string
	sizes     string // "" when not sized
	fit       []string
	desc      string // %s = material (lower case), %c = colour
	extra     map[string][]string
}

type category struct {
	name  string
	code  string
	types []ptype
	cols  []string
}

var apparelSizes = "XS, S, M, L, XL, XXL"

var categories = []category{
	{"Women's Tops", "WT", []ptype{
		{"Crew-Neck T-Shirt", "TS", [2]float64{19, 35}, []string{"Organic Cotton", "Cotton Modal", "Linen"}, apparelSizes, []string{"regular", "relaxed"},
			"An everyday crew-neck tee in soft %s, cut with a slightly dropped shoulder. Pre-washed so it keeps its shape.", nil},
		{"Button-Through Blouse", "BL", [2]float64{39, 69}, []string{"Viscose", "Silk", "Cotton Poplin"}, apparelSizes, []string{"regular", "oversized"},
			"A light blouse in %s with mother-of-pearl buttons and a soft collar; tuck it in or wear it loose.", nil},
		{"Crew-Neck Jumper", "JM", [2]float64{69, 99}, []string{"Merino Wool", "Cashmere Blend"}, apparelSizes, []string{"regular", "slim"},
			"A fine-knit jumper in %s: warm without bulk, breathable, and easy to layer.", nil},
		{"Cable-Knit Cardigan", "CD", [2]float64{79, 129}, []string{"Lambswool", "Organic Cotton", "Alpaca Blend"}, apparelSizes, []string{"relaxed"},
			"A chunky cable-knit cardigan in %s with horn-effect buttons and deep patch pockets.", nil},
	}, []string{"white", "black", "navy", "ecru", "sage green", "dusty pink", "oatmeal", "rust"}},
	{"Dresses & Skirts", "DR", []ptype{
		{"Wrap Dress", "WD", [2]float64{69, 119}, []string{"Linen", "Viscose Crepe", "Tencel"}, "XS, S, M, L, XL", []string{"regular"},
			"A midi wrap dress in %s with a tie waist and flutter sleeves; fully adjustable at the waist.", nil},
		{"Shirt Dress", "SD", [2]float64{59, 99}, []string{"Cotton Poplin", "Chambray", "Linen"}, "XS, S, M, L, XL", []string{"relaxed"},
			"A belted shirt dress in %s with a button front and side pockets.", nil},
		{"Pleated Midi Skirt", "PS", [2]float64{49, 79}, []string{"Recycled Polyester", "Satin", "Wool Blend"}, "XS, S, M, L, XL", []string{"regular"},
			"A sunray-pleated midi skirt in %s with an elasticated back waist.", nil},
		{"Knitted Midi Dress", "KD", [2]float64{79, 129}, []string{"Merino Wool", "Ribbed Cotton"}, "XS, S, M, L, XL", []string{"slim"},
			"A ribbed knitted dress in %s that skims the body and falls to mid-calf.", nil},
	}, []string{"black", "navy", "forest green", "terracotta", "floral print", "polka dot", "camel", "burgundy"}},
	{"Men's Shirts & Tops", "MT", []ptype{
		{"Oxford Shirt", "OX", [2]float64{45, 69}, []string{"Cotton Oxford", "Organic Cotton"}, "S, M, L, XL, XXL", []string{"regular", "slim"},
			"A button-down Oxford shirt in %s that gets softer with every wash.", nil},
		{"Heavyweight T-Shirt", "HT", [2]float64{25, 39}, []string{"Organic Cotton", "Cotton Jersey"}, "S, M, L, XL, XXL", []string{"regular", "boxy"},
			"A 220 g/m² tee in %s with a ribbed neck that does not stretch out.", nil},
		{"Flannel Overshirt", "FL", [2]float64{59, 89}, []string{"Brushed Cotton Flannel", "Wool Blend"}, "S, M, L, XL, XXL", []string{"relaxed"},
			"A heavy overshirt in %s with two chest pockets; wear it as a light jacket.", nil},
		{"Merino Polo", "PO", [2]float64{59, 85}, []string{"Merino Wool", "Pique Cotton"}, "S, M, L, XL, XXL", []string{"slim", "regular"},
			"A knitted polo in %s with a three-button placket.", nil},
	}, []string{"white", "light blue", "navy", "charcoal", "olive", "check red", "stone", "black"}},
	{"Trousers & Jeans", "TR", []ptype{
		{"Straight Jeans", "JS", [2]float64{69, 99}, []string{"Rigid Denim", "Stretch Denim", "Organic Denim"}, "W28 L30, W30 L32, W32 L32, W34 L32, W36 L34", []string{"straight"},
			"Five-pocket jeans in %s with a mid rise and a straight leg.", map[string][]string{"wash": {"raw", "mid wash", "light wash", "black"}}},
		{"Tapered Chinos", "CH", [2]float64{55, 79}, []string{"Cotton Twill", "Stretch Cotton"}, "W28, W30, W32, W34, W36", []string{"tapered", "slim"},
			"Chinos in %s with a tapered leg and a hidden coin pocket.", nil},
		{"Wide-Leg Trousers", "WL", [2]float64{59, 95}, []string{"Linen", "Wool Blend", "Tencel"}, "XS, S, M, L, XL", []string{"wide"},
			"High-waisted wide-leg trousers in %s with front pleats.", nil},
		{"Cargo Trousers", "CG", [2]float64{65, 89}, []string{"Ripstop Cotton", "Canvas"}, "S, M, L, XL", []string{"relaxed"},
			"Relaxed cargo trousers in %s with bellows pockets and adjustable hems.", nil},
	}, []string{"indigo", "black", "khaki", "navy", "stone", "olive", "ecru", "grey"}},
	{"Outerwear", "OW", []ptype{
		{"Waxed Jacket", "WX", [2]float64{149, 229}, []string{"Waxed Cotton"}, "S, M, L, XL, XXL", []string{"regular"},
			"A waxed jacket in %s with a corduroy collar, storm cuffs and a detachable hood; re-wax once a year.", nil},
		{"Wool Overcoat", "OC", [2]float64{199, 329}, []string{"Italian Wool", "Wool Cashmere"}, "XS, S, M, L, XL", []string{"regular", "oversized"},
			"A knee-length overcoat in %s, fully lined, with a notch lapel.", nil},
		{"Packable Down Jacket", "DJ", [2]float64{129, 189}, []string{"Recycled Nylon with RDS Down"}, "XS, S, M, L, XL, XXL", []string{"regular"},
			"A light down jacket (%s) that packs into its own pocket; 700 fill power.", nil},
		{"Rain Parka", "RP", [2]float64{119, 179}, []string{"3-Layer Recycled Polyester"}, "XS, S, M, L, XL, XXL", []string{"relaxed"},
			"A fully taped, waterproof parka in %s (20,000 mm) with pit zips.", nil},
	}, []string{"black", "olive", "navy", "camel", "charcoal", "mustard", "forest green"}},
	{"Footwear", "FW", []ptype{
		{"Leather Trainers", "LT", [2]float64{89, 139}, []string{"Full-Grain Leather", "Suede"}, "EU 36, EU 37, EU 38, EU 39, EU 40, EU 41, EU 42, EU 43, EU 44, EU 45, EU 46", []string{"true to size"},
			"Minimal low-top trainers in %s on a stitched natural rubber sole.", nil},
		{"Chelsea Boots", "CB", [2]float64{149, 199}, []string{"Waxed Leather", "Suede"}, "EU 36, EU 37, EU 38, EU 39, EU 40, EU 41, EU 42, EU 43, EU 44, EU 45, EU 46", []string{"true to size", "runs small: order half a size up"},
			"Goodyear-welted Chelsea boots in %s with elastic sides and a pull tab; resoleable.", nil},
		{"Canvas Plimsolls", "PL", [2]float64{45, 65}, []string{"Organic Canvas"}, "EU 35, EU 36, EU 37, EU 38, EU 39, EU 40, EU 41, EU 42, EU 43, EU 44, EU 45", []string{"runs large: order half a size down"},
			"Classic plimsolls in %s with a vulcanised sole.", nil},
		{"Trail Running Shoes", "TRS", [2]float64{119, 159}, []string{"Recycled Mesh"}, "EU 36, EU 37, EU 38, EU 39, EU 40, EU 41, EU 42, EU 43, EU 44, EU 45, EU 46, EU 47", []string{"true to size"},
			"Trail shoes with a %s upper, 5 mm lugs and a rock plate; 8 mm drop.", nil},
	}, []string{"white", "black", "tan", "dark brown", "navy", "grey", "sand"}},
	{"Bags & Accessories", "BA", []ptype{
		{"Leather Tote", "TO", [2]float64{129, 189}, []string{"Vegetable-Tanned Leather"}, "", nil,
			"A structured tote in %s that fits a 15\" laptop, with an inner zip pocket.", map[string][]string{"dimensions": {"40 x 32 x 14 cm", "38 x 30 x 12 cm"}}},
		{"Roll-Top Backpack", "BP", [2]float64{89, 139}, []string{"Waxed Canvas", "Recycled Nylon"}, "", nil,
			"A waterproof roll-top backpack in %s with a padded laptop sleeve.", map[string][]string{"capacity": {"20 l", "24 l", "28 l"}}},
		{"Wool Scarf", "SC", [2]float64{35, 69}, []string{"Lambswool", "Cashmere", "Merino Wool"}, "", nil,
			"A generously sized scarf in %s, woven in Scotland, with fringed ends.", map[string][]string{"dimensions": {"190 x 30 cm", "180 x 70 cm"}}},
		{"Leather Belt", "BE", [2]float64{39, 59}, []string{"Full-Grain Leather"}, "80 cm, 85 cm, 90 cm, 95 cm, 100 cm, 105 cm", nil,
			"A 3 cm belt in %s with a solid brass buckle.", nil},
		{"Beanie", "BN", [2]float64{25, 39}, []string{"Merino Wool", "Recycled Cashmere"}, "one size", nil,
			"A ribbed beanie in %s with a deep turn-up.", nil},
	}, []string{"black", "tan", "cognac", "navy", "grey melange", "olive", "burgundy", "mustard"}},
	{"Home & Kitchen", "HK", []ptype{
		{"Stoneware Mug Set", "MG", [2]float64{29, 45}, []string{"Glazed Stoneware"}, "", nil,
			"A set of four hand-glazed mugs (%s, 350 ml); dishwasher and microwave safe.", map[string][]string{"pieces": {"4"}}},
		{"Linen Tablecloth", "TC", [2]float64{49, 89}, []string{"Stonewashed Linen"}, "140 x 180 cm, 140 x 240 cm, 160 x 300 cm", nil,
			"A tablecloth in %s that needs no ironing.", nil},
		{"Cast Iron Casserole", "CI", [2]float64{99, 169}, []string{"Enamelled Cast Iron"}, "20 cm (2.4 l), 24 cm (4.2 l), 28 cm (6.7 l)", nil,
			"An %s casserole for every hob including induction; oven safe to 250 °C.", nil},
		{"Chef's Knife", "KN", [2]float64{69, 129}, []string{"German Stainless Steel", "Damascus Steel"}, "", nil,
			"A 20 cm chef's knife in %s with an olive-wood handle, hand-sharpened to 15°.", map[string][]string{"blade length": {"20 cm"}}},
		{"Glass Carafe", "CA", [2]float64{25, 35}, []string{"Borosilicate Glass"}, "", nil,
			"A mouth-blown carafe in %s with a tumbler that doubles as a lid (1 l).", map[string][]string{"capacity": {"1 l"}}},
	}, []string{"sage", "charcoal", "sand", "white", "ocean blue", "terracotta", "natural"}},
	{"Bedding & Bath", "BB", []ptype{
		{"Percale Duvet Cover", "DC", [2]float64{79, 129}, []string{"Organic Cotton Percale"}, "Single 135 x 200 cm, Double 200 x 200 cm, King 240 x 220 cm", nil,
			"A crisp, cool duvet cover in %s (200 thread count) with hidden button closure.", nil},
		{"Linen Sheet Set", "SS", [2]float64{119, 189}, []string{"Stonewashed Linen"}, "Single, Double, King", nil,
			"A fitted sheet and two pillowcases in %s; gets softer with every wash.", nil},
		{"Waffle Bath Towel", "TW", [2]float64{25, 39}, []string{"Turkish Cotton"}, "Hand 50 x 90 cm, Bath 70 x 140 cm, Sheet 100 x 180 cm", nil,
			"A quick-drying waffle towel in %s.", nil},
		{"Wool Throw", "TH", [2]float64{89, 149}, []string{"Lambswool", "Merino Wool"}, "", nil,
			"A herringbone throw in %s, 130 x 180 cm, woven in Wales.", map[string][]string{"dimensions": {"130 x 180 cm"}}},
	}, []string{"white", "chalk", "sage", "slate", "blush", "natural", "navy stripe"}},
	{"Outdoor & Sport", "OS", []ptype{
		{"Yoga Mat", "YM", [2]float64{49, 79}, []string{"Natural Rubber", "Cork and Rubber"}, "", nil,
			"A 4 mm non-slip yoga mat in %s, 183 x 66 cm, with a carry strap.", map[string][]string{"thickness": {"4 mm", "6 mm"}}},
		{"Insulated Bottle", "IB", [2]float64{25, 39}, []string{"Stainless Steel"}, "500 ml, 750 ml, 1 l", nil,
			"A double-walled %s bottle: cold for 24 hours, hot for 12.", nil},
		{"Merino Base Layer", "BL", [2]float64{59, 89}, []string{"Merino Wool 200 g/m²"}, "XS, S, M, L, XL", []string{"slim"},
			"A long-sleeve base layer in %s that regulates temperature and resists odour.", nil},
		{"Running Shorts", "RS", [2]float64{35, 49}, []string{"Recycled Polyester"}, "XS, S, M, L, XL", []string{"regular"},
			"Lightweight 5\" running shorts in %s with a zipped back pocket and built-in liner.", nil},
		{"Hiking Socks (3 Pack)", "HS", [2]float64{25, 35}, []string{"Merino Wool Blend"}, "EU 35-38, EU 39-42, EU 43-46", nil,
			"Cushioned hiking socks in %s with a seamless toe.", nil},
	}, []string{"black", "forest green", "slate blue", "coral", "grey", "sand", "orange"}},
}

var firstNames = []string{"Anna", "Lukas", "Sophie", "Jonas", "Emma", "Liam", "Mila", "Noah", "Chloé", "Lucas", "Aoife", "Seán",
	"Eva", "Daan", "Julia", "Finn", "Lena", "Mats", "Clara", "Oskar", "Marta", "Pablo", "Giulia", "Matteo", "Freya", "Ida",
	"Hannah", "Felix", "Zoë", "Thomas", "Léa", "Hugo", "Niamh", "Ciarán", "Sara", "Emil", "Inès", "Karim", "Maja", "Jakub",
	"Elif", "Mehmet", "Sofia", "Tomás", "Laura", "David", "Nora", "Ben", "Amélie", "Ruben"}
var lastNames = []string{"Müller", "Schmidt", "de Vries", "Jansen", "Dubois", "Martin", "Murphy", "O'Brien", "Kelly", "Bakker",
	"Weber", "Fischer", "Lefèvre", "Moreau", "Byrne", "Visser", "Hoffmann", "Becker", "Rossi", "Bianchi", "García", "López",
	"Nielsen", "Hansen", "Kowalski", "Nowak", "Yilmaz", "Novák", "Svensson", "Lindqvist", "Walsh", "Peeters", "Maes",
	"Wagner", "Schulz", "Van den Berg", "Bernard", "Romano", "Fernández", "Andersen"}

type country struct {
	code, phone string
	cities      []string
	postcode    func(r *rand.Rand) string
	streets     []string
	carriers    []string
	weight      int
}

func digits(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.Intn(10))
	}
	return string(b)
}

var countries = []country{
	{"DE", "+49 30", []string{"Berlin", "Hamburg", "München", "Köln", "Leipzig", "Freiburg"}, func(r *rand.Rand) string { return strconv.Itoa(10000 + r.Intn(89999)) },
		[]string{"Lindenstraße", "Bergmannstraße", "Schillerweg", "Gartenstraße", "Am Markt"}, []string{"DHL", "DPD"}, 30},
	{"NL", "+31 20", []string{"Amsterdam", "Utrecht", "Rotterdam", "Haarlem", "Groningen"}, func(r *rand.Rand) string {
		return strconv.Itoa(1000+r.Intn(8999)) + " " + string(rune('A'+r.Intn(26))) + string(rune('A'+r.Intn(26)))
	}, []string{"Prinsengracht", "Kerkstraat", "Oudegracht", "Vondelstraat"}, []string{"PostNL", "DHL"}, 15},
	{"FR", "+33 1", []string{"Paris", "Lyon", "Nantes", "Bordeaux", "Lille"}, func(r *rand.Rand) string { return fmt.Sprintf("%02d%03d", 1+r.Intn(95), r.Intn(1000)) },
		[]string{"rue de la Paix", "avenue Victor Hugo", "rue des Lilas", "boulevard Voltaire"}, []string{"Colissimo", "DPD"}, 15},
	{"IE", "+353 1", []string{"Dublin", "Cork", "Galway", "Limerick"}, func(r *rand.Rand) string {
		return []string{"D02", "D04", "D08", "T12", "H91", "V94"}[r.Intn(6)] + " " + string(rune('A'+r.Intn(26))) + digits(r, 2) + string(rune('A'+r.Intn(26)))
	}, []string{"Main Street", "Harbour Road", "Church Lane", "Mill Street"}, []string{"An Post", "DPD"}, 12},
	{"BE", "+32 2", []string{"Brussel", "Antwerpen", "Gent", "Leuven"}, func(r *rand.Rand) string { return strconv.Itoa(1000 + r.Intn(8999)) },
		[]string{"Kerkstraat", "Stationsstraat", "Rue Royale"}, []string{"bpost", "DPD"}, 8},
	{"AT", "+43 1", []string{"Wien", "Graz", "Salzburg", "Innsbruck"}, func(r *rand.Rand) string { return strconv.Itoa(1010 + r.Intn(8000)) },
		[]string{"Mariahilfer Straße", "Hauptplatz", "Lindengasse"}, []string{"Österreichische Post", "DPD"}, 8},
	{"DK", "+45", []string{"København", "Aarhus", "Odense"}, func(r *rand.Rand) string { return strconv.Itoa(1000 + r.Intn(8999)) },
		[]string{"Nørrebrogade", "Vesterbrogade", "Strøget"}, []string{"GLS", "PostNord"}, 6},
	{"ES", "+34 91", []string{"Madrid", "Barcelona", "Valencia", "Sevilla"}, func(r *rand.Rand) string { return fmt.Sprintf("%05d", 1000+r.Intn(51000)) },
		[]string{"Calle Mayor", "Gran Vía", "Carrer de Mallorca"}, []string{"SEUR", "UPS"}, 6},
}

var emailDomains = []string{"example.com", "example.net", "example.org", "mail.example", "posteo.example"}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.Intn(len(xs))] }

func pickCountry(r *rand.Rand) country {
	total := 0
	for _, c := range countries {
		total += c.weight
	}
	n := r.Intn(total)
	for _, c := range countries {
		if n < c.weight {
			return c
		}
		n -= c.weight
	}
	return countries[0]
}

func asciiFold(s string) string {
	rep := strings.NewReplacer("ü", "ue", "ö", "oe", "ä", "ae", "ß", "ss", "é", "e", "è", "e", "ë", "e", "á", "a", "í", "i", "ó", "o", "ñ", "n", "ø", "o", "å", "a", "ã", "a", "'", "", " ", "")
	return strings.ToLower(rep.Replace(s))
}

type product struct {
	sku, name, desc, cat, currency, image string
	price                                 float64
	stock                                 int
	active                                bool
	attrs                                 map[string]string
}

type customer struct {
	id, email, first, last, phone, locale, name, line1, line2, city, postcode, country string
	created                                                                            time.Time
	favs                                                                               []int // favourite category indexes
}

func main() {
	out := flag.String("out", "kb/demo", "output directory")
	seed := flag.Int64("seed", 20261120, "random seed")
	flag.Parse()
	r := rand.New(rand.NewSource(*seed))

	// ---- products: ~32 per category ----
	var products []product
	byCat := map[int][]int{}
	for ci, c := range categories {
		n := 0
		for n < 32 {
			for _, t := range c.types {
				if n >= 32 {
					break
				}
				mat := pick(r, t.materials)
				col := pick(r, c.cols)
				sku := fmt.Sprintf("FW-%s-%s-%03d", c.code, t.code, n+1)
				name := productName(mat, t.name)
				name += " – " + titleCase(col)
				dup := false
				for _, p := range products {
					if p.name == name {
						dup = true
					}
				}
				if dup {
					continue
				}
				price := t.price[0] + float64(r.Intn(int(t.price[1]-t.price[0])+1))
				price = math.Floor(price) + []float64{0, 0.95, 0.90, 0.00}[r.Intn(4)]
				if price > t.price[1] {
					price = t.price[1]
				}
				attrs := map[string]string{"colour": col, "material": strings.ToLower(mat)}
				if t.sizes != "" {
					attrs["sizes"] = t.sizes
				}
				if len(t.fit) > 0 {
					attrs["fit"] = pick(r, t.fit)
				}
				for k, vs := range t.extra {
					attrs[k] = pick(r, vs)
				}
				switch c.code {
				case "HK":
					attrs["care"] = pick(r, []string{"dishwasher safe", "hand wash only", "wipe clean"})
				case "BB":
					attrs["care"] = "machine wash 40 °C"
				case "FW":
					attrs["sole"] = pick(r, []string{"natural rubber", "EVA and rubber", "leather and rubber"})
				case "BA":
				default:
					attrs["care"] = pick(r, []string{"machine wash 30 °C", "hand wash cold", "dry clean only", "machine wash 40 °C"})
				}
				attrs["origin"] = pick(r, []string{"Portugal", "Italy", "Portugal", "Turkey", "Lithuania", "Scotland", "Spain", "India"})
				stock := r.Intn(120)
				switch x := r.Intn(100); {
				case x < 8:
					stock = 0
				case x < 18:
					stock = 1 + r.Intn(4)
				}
				products = append(products, product{sku: sku, name: name, desc: fmt.Sprintf(t.desc, strings.ToLower(mat)) + " Colour: " + col + ".",
					cat: c.name, currency: "EUR", image: "https://cdn.fernwood.example/products/" + strings.ToLower(sku) + ".jpg",
					price: price, stock: stock, active: r.Intn(100) >= 4, attrs: attrs})
				byCat[ci] = append(byCat[ci], len(products)-1)
				n++
			}
		}
	}

	// ---- customers ----
	var customers []customer
	used := map[string]bool{}
	for len(customers) < 100 {
		fn, ln := pick(r, firstNames), pick(r, lastNames)
		email := asciiFold(fn) + "." + asciiFold(ln)
		if used[email] {
			email += strconv.Itoa(r.Intn(90) + 10)
		}
		used[email] = true
		co := pickCountry(r)
		c := customer{id: fmt.Sprintf("C%04d", 1001+len(customers)), email: email + "@" + pick(r, emailDomains), first: fn, last: ln,
			phone: co.phone + " " + digits(r, 3) + " " + digits(r, 4), locale: localeFor(co.code), name: fn + " " + ln,
			line1: fmt.Sprintf("%s %d", pick(r, co.streets), 1+r.Intn(140)), city: pick(r, co.cities), postcode: co.postcode(r), country: co.code,
			created: Reference.AddDate(0, 0, -60-r.Intn(900)).Add(time.Duration(r.Intn(86400)) * time.Second)}
		if co.code == "FR" || co.code == "ES" {
			c.line1 = fmt.Sprintf("%d %s", 1+r.Intn(140), pick(r, co.streets))
		}
		if r.Intn(5) == 0 {
			c.line2 = pick(r, []string{"Apt 4", "2nd floor", "c/o Reception", "Unit 12", "3. OG"})
		}
		c.favs = []int{r.Intn(len(categories)), r.Intn(len(categories))}
		customers = append(customers, c)
	}

	// ---- orders ----
	type item struct {
		p   product
		qty int
	}
	type order struct {
		number, customer, status, email, name, line1, line2, city, postcode, country string
		placed                                                                       time.Time
		items                                                                        []item
		ships                                                                        [][]string
	}
	var orders []order
	placedTimes := make([]time.Time, 500)
	for i := range placedTimes {
		// More recent orders are more frequent (a growing shop).
		days := int(540 * math.Pow(r.Float64(), 2.0))
		placedTimes[i] = Reference.Add(-time.Duration(days)*24*time.Hour - time.Duration(r.Intn(86400))*time.Second)
	}
	sort.Slice(placedTimes, func(i, j int) bool { return placedTimes[i].Before(placedTimes[j]) })
	// The newest orders cover every early status.
	for i, st := range []string{"pending", "paid", "processing", "shipped"} {
		placedTimes[499-i] = Reference.Add(-time.Duration(2+i*20) * time.Hour)
		_ = st
	}
	sort.Slice(placedTimes, func(i, j int) bool { return placedTimes[i].Before(placedTimes[j]) })
	for i, placed := range placedTimes {
		var c customer
		guest := r.Intn(100) < 8
		if guest {
			fn, ln := pick(r, firstNames), pick(r, lastNames)
			co := pickCountry(r)
			c = customer{email: asciiFold(fn) + "." + asciiFold(ln) + strconv.Itoa(r.Intn(100)) + "@" + pick(r, emailDomains), name: fn + " " + ln,
				line1: fmt.Sprintf("%s %d", pick(r, co.streets), 1+r.Intn(140)), city: pick(r, co.cities), postcode: co.postcode(r), country: co.code,
				favs: []int{r.Intn(len(categories))}}
		} else {
			c = customers[r.Intn(len(customers))]
			if placed.Before(c.created) {
				placed = c.created.Add(time.Duration(1+r.Intn(72)) * time.Hour)
				if placed.After(Reference) {
					placed = Reference.Add(-time.Hour)
				}
			}
		}
		age := Reference.Sub(placed)
		status := statusFor(r, age)
		if i >= 496 { // the four newest orders show every early status
			status = []string{"shipped", "processing", "paid", "pending"}[i-496]
		}
		o := order{number: fmt.Sprintf("A%05d", 10001+i), customer: c.id, status: status, email: c.email, name: c.name,
			line1: c.line1, line2: c.line2, city: c.city, postcode: c.postcode, country: c.country, placed: placed}
		nItems := 1 + int(math.Floor(math.Pow(r.Float64(), 2)*4))
		for j := 0; j < nItems; j++ {
			ci := c.favs[r.Intn(len(c.favs))]
			if r.Intn(4) == 0 {
				ci = r.Intn(len(categories))
			}
			p := products[pick(r, byCat[ci])]
			qty := 1
			if r.Intn(8) == 0 {
				qty = 2
			}
			if strings.Contains(p.name, "Towel") || strings.Contains(p.name, "Socks") {
				qty += r.Intn(3)
			}
			o.items = append(o.items, item{p, qty})
		}
		co := countryByCode(c.country)
		switch status {
		case "shipped", "delivered", "returned", "refunded":
			parcels := 1
			if len(o.items) > 2 && r.Intn(4) == 0 {
				parcels = 2
			}
			for k := 0; k < parcels; k++ {
				carrier := pick(r, co.carriers)
				shipped := placed.Add(time.Duration(18+r.Intn(48)) * time.Hour)
				eta := shipped.Add(time.Duration(2+r.Intn(3)) * 24 * time.Hour)
				shStatus, delivered := "delivered", eta.Add(-time.Duration(r.Intn(20))*time.Hour)
				if status == "shipped" {
					delivered = time.Time{}
					shStatus = pick(r, []string{"in_transit", "in_transit", "out_for_delivery", "label_created"})
					if shipped.After(Reference) {
						shipped = Reference.Add(-2 * time.Hour)
						eta = shipped.Add(72 * time.Hour)
					}
					if r.Intn(15) == 0 {
						shStatus = "exception"
					}
				}
				o.ships = append(o.ships, []string{carrier, tracking(r, carrier), shStatus, ts(shipped), day(eta), ts(delivered)})
			}
		}
		orders = append(orders, o)
	}

	// ---- write products.csv ----
	attrNames := map[string]bool{}
	for _, p := range products {
		for k := range p.attrs {
			attrNames[k] = true
		}
	}
	var attrs []string
	for k := range attrNames {
		attrs = append(attrs, k)
	}
	sort.Strings(attrs)
	header := []string{"sku", "name", "category", "price", "currency", "stock", "description", "image_url", "active"}
	for _, a := range attrs {
		header = append(header, "attr."+a)
	}
	rows := [][]string{header}
	for _, p := range products {
		row := []string{p.sku, p.name, p.cat, fmt.Sprintf("%.2f", p.price), p.currency, strconv.Itoa(p.stock), p.desc, p.image, strconv.FormatBool(p.active)}
		for _, a := range attrs {
			row = append(row, p.attrs[a])
		}
		rows = append(rows, row)
	}
	write(filepath.Join(*out, "products.csv"), rows)

	rows = [][]string{{"id", "email", "first_name", "last_name", "phone", "locale", "address_name", "address_line1", "address_line2", "city", "postcode", "country", "created_at"}}
	for _, c := range customers {
		rows = append(rows, []string{c.id, c.email, c.first, c.last, c.phone, c.locale, c.name, c.line1, c.line2, c.city, c.postcode, c.country, ts(c.created)})
	}
	write(filepath.Join(*out, "customers.csv"), rows)

	rows = [][]string{{"number", "customer_id", "status", "email", "placed_at", "currency", "total", "address_name", "address_line1", "address_line2",
		"city", "postcode", "country", "item_sku", "item_name", "item_quantity", "item_unit_price", "carrier", "tracking_number", "shipment_status",
		"shipped_at", "estimated_delivery", "delivered_at"}}
	for _, o := range orders {
		total := 0.0
		for _, it := range o.items {
			total += it.p.price * float64(it.qty)
		}
		if total < 60 {
			total += 4.95 // standard delivery below the free-delivery threshold
		}
		n := max(len(o.items), len(o.ships))
		for k := 0; k < n; k++ {
			row := []string{o.number, "", "", "", "", "", "", "", "", "", "", "", ""}
			if k == 0 {
				row = []string{o.number, o.customer, o.status, o.email, ts(o.placed), "EUR", fmt.Sprintf("%.2f", total), o.name, o.line1, o.line2, o.city, o.postcode, o.country}
			}
			if k < len(o.items) {
				it := o.items[k]
				row = append(row, it.p.sku, it.p.name, strconv.Itoa(it.qty), fmt.Sprintf("%.2f", it.p.price))
			} else {
				row = append(row, "", "", "", "")
			}
			if k < len(o.ships) {
				row = append(row, o.ships[k]...)
			} else {
				row = append(row, "", "", "", "", "", "")
			}
			rows = append(rows, row)
		}
	}
	write(filepath.Join(*out, "orders.csv"), rows)

	// ---- browsing signals: views and cart additions leaning to each customer's favourite categories ----
	rows = [][]string{{"customer_id", "sku", "kind", "at"}}
	for _, c := range customers {
		n := 10 + r.Intn(40)
		for k := 0; k < n; k++ {
			ci := c.favs[r.Intn(len(c.favs))]
			if r.Intn(5) == 0 {
				ci = r.Intn(len(categories))
			}
			p := products[pick(r, byCat[ci])]
			kind := "view"
			if r.Intn(6) == 0 {
				kind = "cart"
			}
			at := c.created.Add(time.Duration(r.Int63n(int64(Reference.Sub(c.created)))))
			rows = append(rows, []string{c.id, p.sku, kind, ts(at)})
		}
	}
	write(filepath.Join(*out, "interactions.csv"), rows)
	log.Printf("wrote %d products, %d customers, %d orders, %d interactions to %s", len(products), len(customers), len(orders), len(rows)-1, *out)
}

// productName joins material and type without repeating a word: "Italian Wool" + "Wool Overcoat" is
// "Italian Wool Overcoat", "Merino Wool" + "Merino Crew Jumper" is "Merino Crew Jumper".
func productName(mat, typ string) string {
	mw, tw := strings.Fields(mat), strings.Fields(typ)
	switch {
	case mw[len(mw)-1] == tw[0]:
		return mat + " " + strings.Join(tw[1:], " ")
	case strings.Contains(typ, mw[0]):
		return typ
	}
	return mat + " " + typ
}

func titleCase(s string) string {
	parts := strings.Fields(s)
	for i, p := range parts {
		parts[i] = strings.ToUpper(p[:1]) + p[1:]
	}
	return strings.Join(parts, " ")
}

func localeFor(cc string) string {
	switch cc {
	case "DE", "AT":
		return "de-" + cc
	case "NL":
		return "nl-NL"
	case "FR":
		return "fr-FR"
	case "ES":
		return "es-ES"
	case "DK":
		return "da-DK"
	case "BE":
		return "nl-BE"
	}
	return "en-IE"
}

func countryByCode(cc string) country {
	for _, c := range countries {
		if c.code == cc {
			return c
		}
	}
	return countries[0]
}

// statusFor picks a status that is plausible for an order of this age.
func statusFor(r *rand.Rand, age time.Duration) string {
	h := age.Hours()
	x := r.Intn(100)
	switch {
	case h < 6:
		return pick(r, []string{"pending", "paid"})
	case h < 24:
		return []string{"paid", "processing", "processing", "cancelled"}[x%4]
	case h < 72:
		if x < 10 {
			return "cancelled"
		}
		return pick(r, []string{"processing", "shipped", "shipped"})
	case h < 24*7:
		switch {
		case x < 8:
			return "cancelled"
		case x < 55:
			return "shipped"
		}
		return "delivered"
	}
	switch {
	case x < 8:
		return "cancelled"
	case x < 15:
		return "returned"
	case x < 26:
		return "refunded"
	}
	return "delivered"
}

func tracking(r *rand.Rand, carrier string) string {
	switch carrier {
	case "DHL":
		return "JJD" + digits(r, 18)
	case "PostNL":
		return "3S" + strings.ToUpper(fmt.Sprintf("%x", r.Int63()))[:4] + digits(r, 9)
	case "An Post", "Colissimo", "bpost", "Österreichische Post":
		return string(rune('A'+r.Intn(26))) + string(rune('A'+r.Intn(26))) + digits(r, 9) + map[string]string{"An Post": "IE", "Colissimo": "FR", "bpost": "BE", "Österreichische Post": "AT"}[carrier]
	case "UPS":
		return "1Z" + strings.ToUpper(fmt.Sprintf("%x", r.Int63()))[:6] + digits(r, 10)
	}
	return digits(r, 14)
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

func write(path string, rows [][]string) {
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	w := csv.NewWriter(f)
	if err := w.WriteAll(rows); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}

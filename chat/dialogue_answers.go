package chat

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shopchat/shopchat/kb"
	"github.com/shopchat/shopchat/recommender"
)

// needsOrder reports whether answering intent needs a verified order.
func needsOrder(intent string) bool {
	switch intent {
	case "order_status", "track_order", "cancel_order", "change_order", "change_address", "return_item",
		"refund_status", "exchange_item", "damaged_item", "wrong_item", "invoice":
		return true
	}
	return false
}

// needsProduct reports whether answering intent needs a product.
func needsProduct(intent string) bool {
	switch intent {
	case "product_availability", "size_fit", "product_details", "warranty", "similar_products":
		return true
	}
	return false
}

// needsAccount reports whether answering intent needs a signed-in customer.
func needsAccount(intent string) bool {
	switch intent {
	case "account_login", "password_reset", "delete_account", "newsletter":
		return true
	}
	return false
}

// answer answers a confidently understood intent.
func (d *Dialogue) answer(ctx context.Context, tc *turnCtx) {
	intent := tc.intent
	switch {
	case intent == "oos_rephrase":
		tc.intent = "fallback"
		tc.say(reply{text: "Sure — tell me in a few words what you need, and I'll do my best.", intent: "fallback"})
		return
	case needsOrder(intent):
		tc.st.Form = &form{Intent: intent}
		d.continueForm(ctx, tc)
		return
	case needsProduct(intent):
		d.answerProduct(ctx, tc)
		return
	case intent == "recommend_products":
		d.recommend(ctx, tc, "")
		return
	case needsAccount(intent) && tc.customer == nil:
		tc.say(reply{text: "For anything about your account I need to know it's you: please sign in on the shop first and open the chat again — or I can connect you with a colleague.",
			intent: intent, replies: []QuickReply{{Title: "Talk to a person", Payload: replyHandoff}}})
		return
	case intent == "complaint":
		data := map[string]any{"complaint.reference": "CMP-" + shortRef(tc.t.ConvID, tc.t.Message.Seq)}
		d.sayTemplate(ctx, tc, intent, data, []QuickReply{{Title: "Talk to a person now", Payload: replyHandoff}}, nil)
		return
	}
	data := map[string]any{}
	if tc.customer != nil {
		data["account.email"] = tc.customer.Email
		data["account.deletion_reference"] = "DEL-" + shortRef(tc.t.ConvID, tc.t.Message.Seq)
		data["reset.url"] = d.cfg.ShopURL + "/account/reset?email=" + url.QueryEscape(tc.customer.Email)
		data["newsletter.status"] = "subscribed"
	}
	var qr []QuickReply
	switch intent {
	case "greeting", "thanks", "deny":
		qr = starterReplies()
	}
	d.sayTemplate(ctx, tc, intent, data, qr, nil)
}

func starterReplies() []QuickReply {
	return []QuickReply{{Title: "Where is my order?", Payload: "intent:order_status"}, {Title: "Return an item", Payload: "intent:return_item"},
		{Title: "Recommend something", Payload: "intent:recommend_products"}}
}

func shortRef(conv string, seq int64) string {
	h := uint32(2166136261)
	for i := 0; i < len(conv); i++ {
		h = (h ^ uint32(conv[i])) * 16777619
	}
	return strings.ToUpper(strconv.FormatUint(uint64(h%1679616), 36)) + strconv.FormatInt(seq, 10)
}

// sayTemplate renders the intent's template with data plus the customer's and the shop's slots and
// says it; when the template cannot be rendered it falls back to an FAQ answer or a plain sentence.
func (d *Dialogue) sayTemplate(ctx context.Context, tc *turnCtx, intent string, data map[string]any, qr []QuickReply, cards []any) {
	text, err := d.render(ctx, tc, intent, data)
	if err != nil {
		d.log.Debug("template", "intent", intent, "err", err)
		text = d.fallbackText(ctx, tc, intent)
	}
	tc.say(reply{text: text, intent: intent, replies: qr, cards: cards})
}

var nameSlot = regexp.MustCompile(`,?\s*\{\s*customer\.first_name\s*\}`)

// render fills the intent's template. Without a known customer it prefers the "_anonymous" variant,
// and otherwise drops the greeting by name.
func (d *Dialogue) render(ctx context.Context, tc *turnCtx, intent string, data map[string]any) (string, error) {
	all := map[string]any{}
	for k, v := range d.cfg.Shop {
		all[k] = v
	}
	if tc.customer != nil {
		all["customer.first_name"] = tc.customer.FirstName
		all["customer.last_name"] = tc.customer.LastName
		all["customer.email"] = tc.customer.Email
	}
	for k, v := range data {
		all[k] = v
	}
	var tpl kb.Template
	var err error
	if _, ok := all["customer.first_name"]; !ok {
		tpl, err = d.cfg.Knowledge.AnswerTemplate(ctx, intent+"_anonymous", tc.locale)
		if err != nil {
			tpl, err = d.cfg.Knowledge.AnswerTemplate(ctx, intent, tc.locale)
			tpl.Text = nameSlot.ReplaceAllString(tpl.Text, "")
		}
	} else {
		tpl, err = d.cfg.Knowledge.AnswerTemplate(ctx, intent, tc.locale)
	}
	if err != nil {
		return "", err
	}
	return tpl.Render(all)
}

// fallbackText answers an intent whose template could not be rendered.
func (d *Dialogue) fallbackText(ctx context.Context, tc *turnCtx, intent string) string {
	if hits, err := d.cfg.Knowledge.SearchFAQ(ctx, tc.t.Message.Text, tc.locale, 1); err == nil && len(hits) > 0 && hits[0].Score >= d.cfg.FAQMinScore {
		return hits[0].Answer
	}
	return "I can help with " + strings.ToLower(intentTitle(intent)) + ", but I'm missing some details. Could you tell me a bit more, or shall I connect you with a colleague?"
}

// continueForm asks for what the order form still lacks, or answers once the order is verified.
func (d *Dialogue) continueForm(ctx context.Context, tc *turnCtx) {
	st, f := tc.st, tc.st.Form
	if f == nil {
		return
	}
	number := st.Slots[slotOrder]
	// A signed-in customer: their own orders need no further verification.
	if tc.t.CustomerID != "" {
		if number == "" {
			orders, err := d.cfg.Knowledge.RecentOrders(ctx, tc.t.CustomerID, 3)
			if err != nil {
				d.log.Warn("recent orders", "err", err)
			}
			switch len(orders) {
			case 0:
				// Fall through to asking for a number (a guest order, perhaps).
			case 1:
				number = orders[0].Number
			default:
				f.Asked = askOrder
				qr := make([]QuickReply, 0, len(orders)+1)
				for _, o := range orders {
					qr = append(qr, QuickReply{Title: o.Number + " · " + o.PlacedAt.Format("2 Jan") + " · " + statusWords(o.Status), Payload: "order:" + o.Number})
				}
				qr = append(qr, QuickReply{Title: "Cancel", Payload: replyCancel})
				tc.intent = f.Intent
				tc.say(reply{text: "Which order is it about?", intent: "ask_order_number", replies: qr})
				return
			}
		}
		if number != "" {
			o, err := d.cfg.Knowledge.LookupOrder(ctx, kb.OrderQuery{Number: number, CustomerID: tc.t.CustomerID, Requester: tc.t.ConvID})
			if err == nil {
				d.answerOrder(ctx, tc, o)
				return
			}
			if !errors.Is(err, kb.ErrNotFound) {
				d.orderLookupFailed(ctx, tc, err)
				return
			}
			// Not one of theirs: verify like a guest order.
		}
	}
	prev := f.Asked
	switch {
	case number == "":
		f.Asked = askOrder
	case st.Slots[slotEmail] == "" && st.Slots[slotPostcode] == "":
		f.Asked = askVerify
	default:
		o, err := d.cfg.Knowledge.LookupOrder(ctx, kb.OrderQuery{Number: number, Email: st.Slots[slotEmail], Postcode: st.Slots[slotPostcode], Requester: tc.t.ConvID})
		if err == nil {
			st.Slots[slotVerified] = o.Number
			d.answerOrder(ctx, tc, o)
			return
		}
		d.orderLookupFailed(ctx, tc, err)
		return
	}
	if f.Asked != prev {
		f.Tries = 0
	}
	f.Tries++
	tc.intent = f.Intent
	if f.Tries > d.cfg.MaxFormTries {
		st.Form = nil
		st.Pending = &pending{Kind: pendingOfferHuman}
		tc.say(reply{text: "I still don't have what I need to find your order. Shall I connect you with a colleague who can look it up?", intent: "offer_human",
			replies: []QuickReply{{Title: "Yes, connect me", Payload: replyYes}, {Title: "No, thanks", Payload: replyNo}}})
		return
	}
	cancel := QuickReply{Title: "Never mind", Payload: replyCancel}
	if f.Asked == askOrder {
		text, err := d.render(ctx, tc, "ask_order_number", nil)
		if err != nil || f.Tries > 1 {
			text = "What's your order number? You'll find it in your confirmation email — it looks like A10023."
			if f.Tries > 1 {
				text = "Sorry, I didn't catch an order number. " + text
			}
		}
		tc.say(reply{text: text, intent: "ask_order_number", replies: []QuickReply{cancel}})
		return
	}
	text := "Thanks! To keep your order private, what's the email address or the postcode the order " + number + " was sent to?"
	if f.Tries > 1 {
		text = "I need the email address or the delivery postcode of order " + number + " to show it to you. (Or say \"never mind\".)"
	}
	tc.say(reply{text: text, intent: "ask_verification", replies: []QuickReply{cancel}})
}

// orderLookupFailed answers a failed verification.
func (d *Dialogue) orderLookupFailed(ctx context.Context, tc *turnCtx, err error) {
	st := tc.st
	tc.intent = st.Form.Intent
	switch {
	case errors.Is(err, kb.ErrTooManyAttempts):
		st.Form = nil
		text, rerr := d.render(ctx, tc, "too_many_attempts", nil)
		if rerr != nil {
			text = "For your security I can't look up more orders right now. Please try again later."
		}
		tc.say(reply{text: text, intent: "too_many_attempts", replies: []QuickReply{{Title: "Talk to a person", Payload: replyHandoff}}})
	case errors.Is(err, kb.ErrNotFound):
		st.Form.Fails++
		delete(st.Slots, slotEmail)
		delete(st.Slots, slotPostcode)
		delete(st.Slots, slotOrder)
		st.Form.Asked, st.Form.Tries = askOrder, 1
		if st.Form.Fails >= d.cfg.MaxFormTries {
			st.Form = nil
			st.Pending = &pending{Kind: pendingOfferHuman}
			tc.say(reply{text: "I couldn't find that order. Shall I connect you with a colleague who can look into it?", intent: "offer_human",
				replies: []QuickReply{{Title: "Yes, connect me", Payload: replyYes}, {Title: "No, thanks", Payload: replyNo}}})
			return
		}
		text, rerr := d.render(ctx, tc, "order_not_found", nil)
		if rerr != nil {
			text = "I couldn't find an order with those details."
		}
		tc.say(reply{text: text + " What's the order number?", intent: "order_not_found", replies: []QuickReply{{Title: "Never mind", Payload: replyCancel}}})
	default:
		d.log.Error("order lookup", "conv", tc.t.ConvID, "err", err)
		tc.say(reply{text: "I can't reach our order system right now. Please try again in a minute.", intent: "error"})
	}
}

// answerOrder answers the form's intent about a verified order, with an order card.
func (d *Dialogue) answerOrder(ctx context.Context, tc *turnCtx, o kb.Order) {
	intent := tc.st.Form.Intent
	tc.st.Form = nil
	tc.intent = intent
	tc.st.Slots[slotVerified] = o.Number
	tc.st.Slots[slotOrder] = o.Number
	data := d.orderData(ctx, tc, o)
	d.sayTemplate(ctx, tc, intent, data, orderFollowUps(intent, o), []any{orderCard(o, data)})
}

func orderFollowUps(intent string, o kb.Order) []QuickReply {
	var qr []QuickReply
	switch o.Status {
	case kb.OrderShipped:
		if intent != "track_order" {
			qr = append(qr, QuickReply{Title: "Track my parcel", Payload: "intent:track_order"})
		}
	case kb.OrderDelivered:
		if intent != "return_item" {
			qr = append(qr, QuickReply{Title: "Return an item", Payload: "intent:return_item"})
		}
	case kb.OrderReturned, kb.OrderRefunded:
		if intent != "refund_status" {
			qr = append(qr, QuickReply{Title: "Where is my refund?", Payload: "intent:refund_status"})
		}
	}
	return append(qr, QuickReply{Title: "Talk to a person", Payload: replyHandoff})
}

func statusWords(s string) string {
	switch s {
	case kb.OrderPending:
		return "waiting for payment"
	case kb.OrderPaid:
		return "paid and waiting to be packed"
	case kb.OrderProcessing:
		return "being packed"
	case kb.OrderShipped:
		return "on its way"
	case kb.OrderDelivered:
		return "delivered"
	case kb.OrderCancelled:
		return "cancelled"
	case kb.OrderReturned:
		return "returned, refund in progress"
	case kb.OrderRefunded:
		return "refunded"
	}
	return s
}

func shipmentWords(s string) string {
	switch s {
	case "label_created":
		return "label created, waiting for pick-up"
	case "in_transit":
		return "in transit"
	case "out_for_delivery":
		return "out for delivery today"
	case "delivered":
		return "delivered"
	case "exception":
		return "delayed (the carrier reported a problem)"
	}
	if s == "" {
		return "not yet shipped"
	}
	return strings.ReplaceAll(s, "_", " ")
}

func moneyText(v float64, cur string) string {
	sym := map[string]string{"EUR": "€", "USD": "$", "GBP": "£"}[cur]
	if sym == "" {
		return fmt.Sprintf("%.2f %s", v, cur)
	}
	return sym + strconv.FormatFloat(v, 'f', 2, 64)
}

const dateFmt = "Mon 2 Jan 2006"

// orderData fills the order, shipment, refund and return slots.
func (d *Dialogue) orderData(ctx context.Context, tc *turnCtx, o kb.Order) map[string]any {
	now := d.cfg.Now()
	items := make([]string, 0, len(o.Items))
	count := 0
	for _, it := range o.Items {
		items = append(items, fmt.Sprintf("%d × %s", it.Quantity, it.Name))
		count += it.Quantity
	}
	addr := strings.Join(nonEmpty(o.Address.Line1, o.Address.Line2, strings.TrimSpace(o.Address.Postcode+" "+o.Address.City), o.Address.Country), ", ")
	data := map[string]any{
		"order.number": o.Number, "order.status": statusWords(o.Status), "order.placed_at": o.PlacedAt.Format("2 Jan 2006"),
		"order.total": moneyText(o.Total, o.Currency), "order.items": strings.Join(items, ", "), "order.item_count": count,
		"order.address": addr, "order.postcode": o.Address.Postcode,
		"invoice.url":      d.cfg.ShopURL + "/account/orders/" + o.Number + "/invoice.pdf",
		"return.label_url": d.cfg.ShopURL + "/returns/label/" + o.Number,
	}
	if tc.customer == nil || tc.customer.ID != o.CustomerID {
		if o.CustomerID != "" {
			if c, err := d.cfg.Knowledge.Customer(ctx, o.CustomerID); err == nil {
				data["customer.first_name"], data["customer.last_name"], data["customer.email"] = c.FirstName, c.LastName, c.Email
			}
		}
		if _, ok := data["customer.first_name"]; !ok && o.Address.Name != "" {
			data["customer.first_name"] = strings.Fields(o.Address.Name)[0]
			data["customer.email"] = o.Email
		}
	}
	// Returns: 30 days from delivery (or from the order when not delivered yet).
	base := o.PlacedAt.Add(5 * 24 * time.Hour)
	if n := len(o.Shipments); n > 0 {
		s := o.Shipments[n-1]
		data["shipment.carrier"] = s.Carrier
		data["shipment.tracking_number"] = s.TrackingNumber
		data["shipment.tracking_url"] = trackingURL(s.Carrier, s.TrackingNumber)
		data["shipment.status"] = shipmentWords(s.Status)
		if !s.EstimatedDelivery.IsZero() {
			data["shipment.eta"] = s.EstimatedDelivery.Format(dateFmt)
		}
		if !s.DeliveredAt.IsZero() {
			data["shipment.delivered_at"] = s.DeliveredAt.Format(dateFmt)
			base = s.DeliveredAt
			if _, ok := data["shipment.eta"]; !ok {
				data["shipment.eta"] = s.DeliveredAt.Format(dateFmt)
			}
		}
	} else {
		data["shipment.status"] = shipmentWords("")
	}
	data["return.deadline"] = base.Add(30 * 24 * time.Hour).Format(dateFmt)
	switch o.Status {
	case kb.OrderRefunded:
		data["refund.amount"], data["refund.status"] = moneyText(o.Total, o.Currency), "paid out"
		data["refund.eta"] = "now (it can take 1–3 banking days to show)"
	case kb.OrderReturned, kb.OrderCancelled:
		data["refund.amount"], data["refund.status"] = moneyText(o.Total, o.Currency), "being processed"
		data["refund.eta"] = now.Add(5 * 24 * time.Hour).Format(dateFmt)
	}
	return data
}

func nonEmpty(ss ...string) []string {
	out := ss[:0:0]
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

func trackingURL(carrier, number string) string {
	if number == "" {
		return ""
	}
	switch strings.ToUpper(carrier) {
	case "DHL":
		return "https://www.dhl.com/track?tracking-id=" + url.QueryEscape(number)
	case "DPD":
		return "https://tracking.dpd.de/status/en_US/parcel/" + url.PathEscape(number)
	case "UPS":
		return "https://www.ups.com/track?tracknum=" + url.QueryEscape(number)
	case "POSTNL":
		return "https://jouw.postnl.nl/track-and-trace/" + url.PathEscape(number)
	}
	return "https://parcelsapp.com/en/tracking/" + url.PathEscape(number)
}

// orderCard is the order card of a message payload.
func orderCard(o kb.Order, data map[string]any) map[string]any {
	items := make([]map[string]any, 0, len(o.Items))
	for _, it := range o.Items {
		items = append(items, map[string]any{"name": it.Name, "quantity": it.Quantity, "sku": it.SKU})
	}
	c := map[string]any{"type": "order", "number": o.Number, "status": o.Status, "status_label": statusWords(o.Status),
		"placed": o.PlacedAt.Format("2 Jan 2006"), "total": o.Total, "currency": o.Currency, "items": items}
	if v, ok := data["shipment.eta"]; ok {
		c["eta"] = v
	}
	if v, ok := data["shipment.carrier"]; ok {
		c["carrier"] = v
		c["tracking"] = data["shipment.tracking_number"]
		c["tracking_url"] = data["shipment.tracking_url"]
	}
	return c
}

// productCard is the product card of a message payload.
func (d *Dialogue) productCard(p kb.Product) map[string]any {
	desc := p.Description
	if len(desc) > 120 {
		desc = desc[:strings.LastIndexByte(desc[:120], ' ')+1] + "…"
	}
	return map[string]any{"type": "product", "sku": p.SKU, "name": p.Name, "price": p.Price, "currency": p.Currency,
		"image": p.ImageURL, "description": desc, "in_stock": p.Stock > 0, "url": d.productURL(p)}
}

func (d *Dialogue) productURL(p kb.Product) string {
	return d.cfg.ShopURL + "/products/" + strings.ToLower(p.SKU)
}

// answerProduct answers a question about one product, found from the entity, the conversation's
// last product, or a catalogue search of the message.
func (d *Dialogue) answerProduct(ctx context.Context, tc *turnCtx) {
	intent := tc.intent
	var p kb.Product
	found := false
	if sku := tc.st.Slots[slotProduct]; sku != "" {
		if x, err := d.cfg.Knowledge.ProductBySKU(ctx, sku); err == nil {
			p, found = x, true
		}
	}
	if !found && tc.t.Message.Text != "" {
		if ps, err := d.cfg.Knowledge.FindProducts(ctx, tc.t.Message.Text, 3); err == nil && len(ps) > 0 {
			p, found = ps[0], true
		}
	}
	if !found {
		tc.say(reply{text: "Which product do you mean? Tell me its name (for example \"merino base layer\") and I'll look it up.", intent: "ask_product"})
		return
	}
	tc.st.Slots[slotProduct] = p.SKU
	if intent == "similar_products" {
		d.recommend(ctx, tc, p.SKU)
		return
	}
	data := productData(p, d.productURL(p))
	tc.st.addShown(p.SKU)
	qr := []QuickReply{{Title: "Show similar products", Payload: "intent:similar_products"}}
	d.sayTemplate(ctx, tc, intent, data, qr, []any{d.productCard(p)})
}

func productData(p kb.Product, u string) map[string]any {
	avail := "in stock"
	switch {
	case p.Stock <= 0:
		avail = "out of stock"
	case p.Stock < 5:
		avail = "low in stock"
	}
	attr := func(k, def string) string {
		if v := p.Attributes[k]; v != "" {
			return v
		}
		return def
	}
	return map[string]any{
		"product.name": p.Name, "product.sku": p.SKU, "product.price": moneyText(p.Price, p.Currency), "product.stock": p.Stock,
		"product.availability": avail, "product.sizes": attr("sizes", "one size"), "product.colours": attr("colour", "as pictured"),
		"product.material": attr("material", "see the product page"), "product.description": p.Description, "product.url": u,
		"product.warranty": attr("warranty", "2-year"), "product.restock_date": "within 2–3 weeks",
	}
}

// recommend answers with product cards from the recommender (personal for a known customer, from
// the conversation's products otherwise, similar to seed when given), excluding what was shown or
// bought.
func (d *Dialogue) recommend(ctx context.Context, tc *turnCtx, seed string) {
	intent := "recommend_products"
	if seed != "" {
		intent = "similar_products"
	}
	tc.intent = intent
	exclude := append([]string(nil), tc.st.Shown...)
	if d.cfg.Impressions != nil {
		if s, err := d.cfg.Impressions.ShownSKUs(ctx, tc.t.ConvID); err == nil {
			exclude = append(exclude, s...)
		}
		if tc.t.CustomerID != "" {
			if s, err := d.cfg.Impressions.PurchasedSKUs(ctx, tc.t.CustomerID); err == nil {
				exclude = append(exclude, s...)
			}
		}
	}
	if seed != "" {
		exclude = append(exclude, seed)
	}
	var products []kb.Product
	if d.cfg.Recommender != nil {
		q := recommender.Query{K: 3, InStockOnly: true, Exclude: exclude}
		switch {
		case seed != "":
			q.SimilarTo = seed
		case tc.t.CustomerID != "":
			q.CustomerID = tc.t.CustomerID
		case len(tc.st.Shown) > 0:
			q.SessionItems = tc.st.Shown
		}
		items, err := d.cfg.Recommender.Recommend(ctx, q)
		if err != nil {
			d.log.Warn("recommend", "err", err)
		}
		for _, it := range items {
			if p, err := d.cfg.Knowledge.ProductBySKU(ctx, it.SKU); err == nil {
				products = append(products, p)
			}
		}
	}
	if len(products) == 0 {
		// No model (or nothing left): search the catalogue with the customer's words.
		ps, _ := d.cfg.Knowledge.FindProducts(ctx, tc.t.Message.Text, 8)
		skip := map[string]bool{}
		for _, s := range exclude {
			skip[s] = true
		}
		for _, p := range ps {
			if !skip[p.SKU] && p.Active && p.Stock > 0 && len(products) < 3 {
				products = append(products, p)
			}
		}
	}
	if len(products) == 0 {
		tc.say(reply{text: "I couldn't find anything new to suggest right now — tell me what you're looking for (\"a warm jacket\", \"hiking boots\") and I'll search the shop.", intent: intent})
		return
	}
	names := make([]string, 0, len(products))
	cards := make([]any, 0, len(products))
	skus := make([]string, 0, len(products))
	for _, p := range products {
		names = append(names, p.Name+" ("+moneyText(p.Price, p.Currency)+")")
		cards = append(cards, d.productCard(p))
		skus = append(skus, p.SKU)
	}
	tc.st.addShown(skus...)
	if d.cfg.Impressions != nil {
		if err := d.cfg.Impressions.RecordImpressions(ctx, tc.t.ConvID, tc.t.CustomerID, skus, intent); err != nil {
			d.log.Warn("record impressions", "err", err)
		}
	}
	data := map[string]any{"recommendations": strings.Join(names, ", "), "similar": strings.Join(names, ", ")}
	if seed != "" {
		if p, err := d.cfg.Knowledge.ProductBySKU(ctx, seed); err == nil {
			data["product.name"] = p.Name
		}
	}
	qr := []QuickReply{{Title: "Show me more", Payload: "intent:recommend_products"}}
	text, err := d.render(ctx, tc, intent, data)
	if err != nil {
		text = "Here are a few things you might like: " + strings.Join(names, ", ")
	}
	tc.say(reply{text: text, intent: intent, replies: qr, cards: cards})
}

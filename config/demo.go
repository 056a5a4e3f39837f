package config

// Demo credentials of the configuration that Default returns. They are
// public, so use them only for local trials with the built-in SMSC
// simulator:
//
//	account id:       demo ("Demo Coffee Co.")
//	toll-free number: +18005550100, demo greeting, voicemail on
//	SMPP bind:        system_id demo, password demopass, on 127.0.0.1:2775
//	HTTP API token:   demo-token (bearer), on 127.0.0.1:8080
const (
	DemoAccountID    = "demo"
	DemoBusinessName = "Demo Coffee Co."
	DemoTollFree     = "+18005550100"
	DemoSystemID     = "demo"
	DemoPassword     = "demopass"
	DemoAPIToken     = "demo-token"

	// demoPasswordHash and demoTokenHash are bcrypt hashes (cost 10) of
	// DemoPassword and DemoAPIToken, computed once so that Default stays
	// cheap. A test checks that they match.
	demoPasswordHash = "$2a$10$Po9C.dIEP.RsQfRJvKqeIOK.wZWQjQqF8z2AwF4s8pFrQG3Q2FqdW"
	demoTokenHash    = "$2a$10$sEgKhmjOKtBZbs1zBs5dSOSztdP7UHk56cqlIBB950QsK3RRuCQq."
)

// Default returns the configuration `optgate run` uses without a file: the
// default listeners, the embedded store under ./data, the built-in SMSC
// simulator on 127.0.0.1:2776 with one carrier bound to it, and the demo
// account described with DemoAccountID. Each call returns a new Config.
func Default() *Config {
	c := newDefaults()
	c.Listeners.Simulator.Enabled = true
	c.Listeners.Simulator.ControlAddr = DefaultControlAddr

	sim := Carrier{}
	elementDefaults(&sim)
	sim.Name = "simulator"
	sim.Address = c.Listeners.Simulator.Addr
	sim.SystemID = c.Listeners.Simulator.SystemID
	sim.Password = c.Listeners.Simulator.Password
	sim.BindType = BindTransceiver
	sim.Window = 10
	sim.Routes = []string{"+"}
	c.Carriers = []Carrier{sim}

	number := TollFreeNumber{}
	elementDefaults(&number)
	number.Number = DemoTollFree
	number.Greeting = DemoGreeting
	number.Voicemail.Enabled = true

	esme := ESME{}
	elementDefaults(&esme)
	esme.SystemID = DemoSystemID
	esme.PasswordHash = demoPasswordHash

	account := Account{}
	elementDefaults(&account)
	account.ID = DemoAccountID
	account.BusinessName = DemoBusinessName
	account.Website = "https://coffee.example"
	account.Details = "Order updates and weekly offers"
	account.TollFree = []TollFreeNumber{number}
	account.ESMEs = []ESME{esme}
	account.APITokens = []APIToken{{Name: "demo", Hash: demoTokenHash}}
	c.Accounts = []Account{account}

	fillDerived(c)
	return c
}

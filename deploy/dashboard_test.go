package deploy

import (
	"encoding/json"
	"testing"
)

// dashboard is the part of the Grafana dashboard JSON the tests read.
type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string         `json:"name"`
			Datasource *datasourceRef `json:"datasource"`
			Definition string         `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int            `json:"id"`
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	Datasource *datasourceRef `json:"datasource"`
	Targets    []struct {
		RefID      string         `json:"refId"`
		Expr       string         `json:"expr"`
		Datasource *datasourceRef `json:"datasource"`
	} `json:"targets"`
	// Panels are the panels of a collapsed row.
	Panels []panel `json:"panels"`
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	var d dashboard
	if err := json.Unmarshal(readFile(t, "grafana/dashboards/optgate.json"), &d); err != nil {
		t.Fatalf("parse grafana/dashboards/optgate.json: %v", err)
	}
	return d
}

// allPanels returns the panels with the panels of collapsed rows.
func (d dashboard) allPanels() []panel {
	var out []panel
	for _, p := range d.Panels {
		out = append(out, p)
		out = append(out, p.Panels...)
	}
	return out
}

// exprs returns every PromQL expression of the dashboard: panel targets
// and template variable queries.
func (d dashboard) exprs() []string {
	var out []string
	for _, p := range d.allPanels() {
		for _, tg := range p.Targets {
			out = append(out, tg.Expr)
		}
	}
	for _, v := range d.Templating.List {
		out = append(out, v.Definition)
	}
	return out
}

// datasourceUIDs returns the set of datasource uids the dashboard names.
func (d dashboard) datasourceUIDs() map[string]bool {
	uids := map[string]bool{}
	add := func(ds *datasourceRef) {
		if ds != nil {
			uids[ds.UID] = true
		}
	}
	for _, p := range d.allPanels() {
		add(p.Datasource)
		for _, tg := range p.Targets {
			add(tg.Datasource)
		}
	}
	for _, v := range d.Templating.List {
		add(v.Datasource)
	}
	return uids
}

func TestDashboardStructure(t *testing.T) {
	d := loadDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Errorf("dashboard uid %q, title %q: both are required for provisioning", d.UID, d.Title)
	}
	ids := map[int]string{}
	graphs := 0
	for _, p := range d.allPanels() {
		if prev, ok := ids[p.ID]; ok {
			t.Errorf("panels %q and %q share id %d", prev, p.Title, p.ID)
		}
		ids[p.ID] = p.Title
		if p.Type == "row" {
			continue
		}
		graphs++
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if tg.Expr == "" {
				t.Errorf("panel %q target %s has an empty expression", p.Title, tg.RefID)
			}
		}
	}
	if graphs < 10 {
		t.Errorf("dashboard has %d panels with queries, want at least 10", graphs)
	}
}

package network

import (
	"bytes"
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/guardian-network/guardian"
)

// The types below are the network file's shape, used only to write it: the
// parser reads yaml.Node trees to keep positions.

type fileNetwork struct {
	Hub        fileHub         `yaml:"hub"`
	Agencies   []fileAgency    `yaml:"agencies"`
	Agreements []fileAgreement `yaml:"agreements"`
}

type fileHub struct {
	ID            string             `yaml:"id"`
	Name          string             `yaml:"name"`
	Country       string             `yaml:"country"`
	HandlingCodes []fileHandlingCode `yaml:"handling-codes"`
}

type fileHandlingCode struct {
	Code        string `yaml:"code"`
	Description string `yaml:"description"`
}

type fileAgency struct {
	ID         string   `yaml:"id"`
	Name       string   `yaml:"name"`
	Kind       string   `yaml:"kind"`
	Country    string   `yaml:"country"`
	Languages  []string `yaml:"languages,flow"`
	Duty       fileDuty `yaml:"duty"`
	Recipients []string `yaml:"recipients,omitempty"`
}

type fileDuty struct {
	Email   []string `yaml:"email"`
	Webhook string   `yaml:"webhook,omitempty"`
}

type fileAgreement struct {
	Agency            string        `yaml:"agency"`
	Channel           string        `yaml:"channel"`
	Countries         []string      `yaml:"countries,flow,omitempty"`
	DataScope         []string      `yaml:"data-scope,flow"`
	HandlingCode      string        `yaml:"handling-code"`
	AcknowledgeWithin fileDeadlines `yaml:"acknowledge-within,flow"`
	Retention         string        `yaml:"retention"`
	Dispatch          string        `yaml:"dispatch"`
}

type fileDeadlines struct {
	E  string `yaml:"E"`
	P1 string `yaml:"1"`
	P2 string `yaml:"2"`
	P3 string `yaml:"3"`
}

// Marshal writes n as a network file that [Parse] reads back to the same
// network. Comments, anchors and key order of the file n came from are not
// kept. Marshal fails only on a network that NewNetwork would not have
// built, such as one missing a deadline.
func Marshal(n *guardian.Network) ([]byte, error) {
	f := fileNetwork{
		Hub: fileHub{ID: n.Hub.ID, Name: n.Hub.Name, Country: n.Hub.Country},
	}
	for _, hc := range n.Hub.HandlingCodes {
		f.Hub.HandlingCodes = append(f.Hub.HandlingCodes, fileHandlingCode(hc))
	}
	for _, a := range n.Agencies {
		f.Agencies = append(f.Agencies, fileAgency{
			ID:         a.ID,
			Name:       a.Name,
			Kind:       string(a.Kind),
			Country:    a.Country,
			Languages:  a.Languages,
			Duty:       fileDuty{Email: a.Duty.Email, Webhook: a.Duty.Webhook},
			Recipients: a.Recipients,
		})
	}
	for _, ag := range n.Agreements {
		var dl [4]string
		for i, pr := range priorities {
			d, ok := ag.AcknowledgeWithin[pr]
			if !ok {
				return nil, fmt.Errorf("agreement of %q has no deadline for priority %s", ag.Agency, pr)
			}
			dl[i] = formatDuration(d)
		}
		scope := ag.DataScope.Sections()
		if scope == nil {
			scope = []string{} // written as [], which the file requires
		}
		f.Agreements = append(f.Agreements, fileAgreement{
			Agency:            ag.Agency,
			Channel:           string(ag.Channel),
			Countries:         ag.Countries,
			DataScope:         scope,
			HandlingCode:      ag.HandlingCode,
			AcknowledgeWithin: fileDeadlines{E: dl[0], P1: dl[1], P2: dl[2], P3: dl[3]},
			Retention:         fmt.Sprintf("%dd", ag.RetentionDays),
			Dispatch:          string(ag.Dispatch),
		})
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("encode network: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode network: %w", err)
	}
	return buf.Bytes(), nil
}

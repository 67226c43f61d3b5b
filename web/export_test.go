package web

// CatalogKeys returns each language's keys, for the catalogue test.
func CatalogKeys() (map[string][]string, error) {
	c, err := loadCatalog()
	if err != nil {
		return nil, err
	}
	return c.keys, nil
}

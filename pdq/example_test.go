package pdq_test

import (
	"fmt"
	"image"
	"log"
	"os"

	"github.com/guardian-network/guardian/pdq"
)

func ExampleHashReader() {
	f, err := os.Open("testdata/shapes-320x240.gif")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	r, err := pdq.HashReader(f)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Hash, r.Quality, r.Matchable())
	// Output: a2545d7cb354f2a9dd1612a9cdb232a94d92f0e91d76e703b0740f16b3446d76 100 true
}

func ExampleIndex_QueryDihedral() {
	known, err := pdq.ParseHash("a2545d7cb354f2a9dd1612a9cdb232a94d92f0e91d76e703b0740f16b3446d76")
	if err != nil {
		log.Fatal(err)
	}
	x := pdq.NewIndex()
	x.Add(42, known)

	// A mirrored copy of the known picture: its own hash is far from the
	// known one, but one of its dihedral hashes is close.
	f, err := os.Open("testdata/shapes-320x240.gif")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		log.Fatal(err)
	}
	b := img.Bounds()
	mirror := image.NewNRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			mirror.Set(b.Max.X-1-x, y, img.At(x, y))
		}
	}
	r, err := pdq.HashImage(mirror)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("direct distance:", r.Hash.Distance(known))
	if r.Matchable() {
		for _, m := range x.QueryDihedral(r.Dihedral, pdq.MatchDistance) {
			fmt.Printf("id %d at distance %d via variant %d (FlipY)\n", m.ID, m.Distance, m.Variant)
		}
	}
	// Output:
	// direct distance: 128
	// id 42 at distance 0 via variant 5 (FlipY)
}

package web

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/gif" // decoders of the formats an image file may be in
	_ "image/jpeg"
	"image/png"
	"io"
	"mime"
	"net/http"
	"strconv"

	_ "golang.org/x/image/webp"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/api"
	"github.com/guardian-network/guardian/sealed"
)

// Images of a report are never shown unless the person asks, and then
// first as a blurred greyscale picture made here, on the server, so that
// the original bytes reach the browser only for the one image the person
// unblurs. Blurring in CSS would not do: the browser would already hold
// the original. The blur keeps a 16-pixel-wide thumbnail of the picture's
// brightness and scales it back up smoothly, so that no detail survives.

const (
	// maxImageBytes and maxImagePixels bound what is decoded for a
	// preview, as the intake bounds what it hashes (server.MaxHashedImage):
	// a file beyond them can still be downloaded.
	maxImageBytes  = 32 << 20
	maxImagePixels = 40_000_000
	// blurWidth is the width of the thumbnail the blurred picture is made
	// from: what survives of the picture.
	blurWidth = 16
	// previewMax bounds the larger side of the blurred picture served.
	previewMax = 480
)

// imageTypes are the content types an unblurred image may be served as:
// those http.DetectContentType recognises and the hub can decode.
var imageTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

var (
	errNotImage   = guardian.Errorf(guardian.EINVALID, "This file is not an image the hub can show; download it instead.")
	errImageLarge = guardian.Errorf(guardian.EINVALID, "This image is too large to preview; download it instead.")
)

// sniffImage returns the content type of data from its bytes (never from
// a file name), or "" when it is not one of imageTypes.
func sniffImage(data []byte) string {
	ct := http.DetectContentType(data)
	if imageTypes[ct] {
		return ct
	}
	return ""
}

// readImage reads an opened file whole, within maxImageBytes, and checks
// that its bytes are an image; it returns them with their content type.
func readImage(rc io.Reader, f *guardian.File) ([]byte, string, error) {
	if f.Size > maxImageBytes {
		return nil, "", errImageLarge
	}
	data := make([]byte, f.Size)
	if _, err := io.ReadFull(rc, data); err != nil {
		return nil, "", fmt.Errorf("read file %s: %w", f.ID, err)
	}
	ct := sniffImage(data)
	if ct == "" {
		clear(data)
		return nil, "", errNotImage
	}
	return data, ct, nil
}

// blurPNG returns a heavily blurred greyscale copy of the image in data,
// as a PNG: the picture's brightness averaged into a thumbnail
// blurWidth pixels wide, scaled back up bilinearly to at most previewMax
// pixels on its larger side.
func blurPNG(data []byte) ([]byte, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if errors.Is(err, image.ErrFormat) {
		return nil, errNotImage
	} else if err != nil {
		return nil, guardian.Errorf(guardian.EINVALID, "This image cannot be decoded; download it instead.")
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, guardian.Errorf(guardian.EINVALID, "This image cannot be decoded; download it instead.")
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxImagePixels {
		return nil, errImageLarge
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, guardian.Errorf(guardian.EINVALID, "This image cannot be decoded; download it instead.")
	}
	small := shrinkGrey(img, blurWidth)
	ow, oh := fit(cfg.Width, cfg.Height, previewMax)
	out := enlarge(small, ow, oh)
	var buf bytes.Buffer
	if err := png.Encode(&buf, out); err != nil {
		return nil, fmt.Errorf("encode blurred image: %w", err)
	}
	return buf.Bytes(), nil
}

// fit scales w×h to at most limit pixels on its larger side, keeping the
// aspect and at least one pixel each way.
func fit(w, h, limit int) (int, int) {
	if w <= limit && h <= limit {
		return w, h
	}
	if w >= h {
		return limit, max(1, h*limit/w)
	}
	return max(1, w*limit/h), limit
}

// shrinkGrey averages img's luma into a grid width cells wide (and as many
// high as keep the aspect, at most 4×width): a box filter over every
// pixel, so that each cell is the mean brightness of its block.
func shrinkGrey(img image.Image, width int) *image.Gray {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	sw := min(width, w)
	sh := min(max(1, (h*sw+w/2)/w), 4*width, h)
	sum := make([]uint64, sw*sh)
	cnt := make([]uint64, sw*sh)
	luma := lumaOf(img)
	for y := 0; y < h; y++ {
		cy := y * sh / h
		for x := 0; x < w; x++ {
			i := cy*sw + x*sw/w
			sum[i] += uint64(luma(b.Min.X+x, b.Min.Y+y))
			cnt[i]++
		}
	}
	out := image.NewGray(image.Rect(0, 0, sw, sh))
	for i := range sum {
		if cnt[i] > 0 {
			out.Pix[i] = uint8(sum[i] / cnt[i])
		}
	}
	return out
}

// lumaOf returns a function giving the 8-bit luma of a pixel of img: read
// directly for the decoders' common types (a JPEG's Y plane is its luma),
// through color.GrayModel otherwise.
func lumaOf(img image.Image) func(x, y int) uint8 {
	switch m := img.(type) {
	case *image.YCbCr:
		return func(x, y int) uint8 { return m.Y[m.YOffset(x, y)] }
	case *image.Gray:
		return func(x, y int) uint8 { return m.Pix[m.PixOffset(x, y)] }
	case *image.NRGBA:
		return func(x, y int) uint8 {
			i := m.PixOffset(x, y)
			p := m.Pix[i : i+4 : i+4]
			return grey(uint32(p[0]), uint32(p[1]), uint32(p[2]), uint32(p[3]))
		}
	case *image.RGBA:
		return func(x, y int) uint8 {
			i := m.PixOffset(x, y)
			p := m.Pix[i : i+3 : i+3]
			return grey(uint32(p[0]), uint32(p[1]), uint32(p[2]), 255)
		}
	}
	return func(x, y int) uint8 { return color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y }
}

// grey is the luma of an 8-bit colour (ITU-R BT.601 weights, as
// color.GrayModel), with non-premultiplied alpha over black.
func grey(r, g, b, a uint32) uint8 {
	y := (19595*r + 38470*g + 7471*b + 1<<15) >> 16
	return uint8(y * a / 255)
}

// enlarge scales src up to w×h bilinearly, so that the thumbnail's cells
// melt into each other rather than show as blocks.
func enlarge(src *image.Gray, w, h int) *image.Gray {
	out := image.NewGray(image.Rect(0, 0, w, h))
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	at := func(x, y int) float64 {
		x, y = min(max(x, 0), sw-1), min(max(y, 0), sh-1)
		return float64(src.Pix[y*src.Stride+x])
	}
	for y := 0; y < h; y++ {
		fy := (float64(y)+0.5)*float64(sh)/float64(h) - 0.5
		y0 := int(fy)
		if fy < 0 {
			y0 = -1
		}
		ty := fy - float64(y0)
		for x := 0; x < w; x++ {
			fx := (float64(x)+0.5)*float64(sw)/float64(w) - 0.5
			x0 := int(fx)
			if fx < 0 {
				x0 = -1
			}
			tx := fx - float64(x0)
			top := at(x0, y0)*(1-tx) + at(x0+1, y0)*tx
			bottom := at(x0, y0+1)*(1-tx) + at(x0+1, y0+1)*tx
			out.Pix[y*out.Stride+x] = uint8(top*(1-ty) + bottom*ty + 0.5)
		}
	}
	return out
}

// openFile opens a referral's file for the person through the API (which
// asks access and records the file.view, saying how it was shown: view),
// with the justification the request gives, or none when they consulted
// the referral today.
func (h *Handler) openFile(r *http.Request, c *api.Call, view string) (*guardian.File, io.ReadCloser, error) {
	return h.API.OpenFile(r.Context(), c, pathID(r), r.PathValue("fileId"), queryJustification(r), view)
}

// sandboxed sets the headers of an answer that is a file's bytes: no
// script may run in it and the browser may not guess its type.
func sandboxed(w http.ResponseWriter, ctype string, size int) {
	hd := w.Header()
	hd.Set("Content-Type", ctype)
	hd.Set("Content-Length", strconv.Itoa(size))
	hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
}

// handleBlurred serves an image file blurred and in greyscale.
func (h *Handler) handleBlurred(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	f, rc, err := h.openFile(r, c, api.ViewBlurred)
	if err != nil {
		return err
	}
	defer rc.Close()
	data, _, err := readImage(rc, f)
	if err != nil {
		return err
	}
	defer clear(data)
	out, err := blurPNG(data)
	if err != nil {
		return err
	}
	sandboxed(w, "image/png", len(out))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
	return nil
}

// handleImage serves an image file as it is: the one the person unblurred.
func (h *Handler) handleImage(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	f, rc, err := h.openFile(r, c, api.ViewOriginal)
	if err != nil {
		return err
	}
	defer rc.Close()
	data, ctype, err := readImage(rc, f)
	if err != nil {
		return err
	}
	defer clear(data)
	sandboxed(w, ctype, len(data))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
	return nil
}

// handleDownload serves a file as an attachment, as the API's file route
// does: never shown in the page.
func (h *Handler) handleDownload(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	f, rc, err := h.openFile(r, c, api.ViewDownload)
	if err != nil {
		return err
	}
	defer rc.Close()
	sandboxed(w, "application/octet-stream", 0)
	w.Header().Set("Content-Length", strconv.FormatInt(f.Size, 10))
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": sealed.SanitizeName(f.Name)}))
	w.WriteHeader(http.StatusOK)
	return api.CopyFile(w, rc, f)
}

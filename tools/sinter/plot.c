/*
 * plot.c — the `sinter profile --plot` chart, as SVG or PNG.
 *
 * The chart is laid out once into a list of shapes (lines, dots, text) in
 * pixel coordinates: nice axis ticks, the budget line, and point labels
 * placed where they overlap least. The SVG writer prints those shapes; the
 * PNG writer rasterizes them into an RGB buffer with Bresenham lines and a
 * built-in 5x7 font at 2x, and hands the rows to libpng, which only encodes.
 * So the two pictures agree on where everything goes, and the CLI needs no
 * font or graphics library.
 */
#include "plot.h"

#include <errno.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

/* Canvas and plot area (pixels; the plot's left edge depends on its labels),
 * and the x of the upright throughput title's middle. */
enum { WIDTH = 800, HEIGHT = 520, RIGHT = 770, TOP = 56, BOTTOM = 450, TITLE_X = 18 };
/* Text is the 5x7 font scaled 2x, with one column between letters. */
enum { SCALE = 2, CHAR_W = 6 * SCALE, CHAR_H = 7 * SCALE };
/* Colours, 0xRRGGBB: blue is SVG's steelblue, green its green. */
enum { BLACK = 0x000000, GREY = 0x555555, GRID = 0xe6e6e6 };
enum { BLUE = 0x4682b4, GREEN = 0x008000, RED = 0xcc0000 };
/* Dot radii: the recommended point is drawn larger. */
enum { DOT_R = 5, BEST_R = 7 };
/* Enough for every point's dot and label plus axes, ticks and titles. */
#define MAX_SHAPES (2 * CLI_PLOT_MAX_POINTS + 96)

/* ASCII 32..126, seven rows each, bit 4 the leftmost of five columns. g, p,
 * q and y are drawn two rows lower, so that their tails hang below the line. */
// clang-format off
static const uint8_t font[95][7] = {
  {0x00,0x00,0x00,0x00,0x00,0x00,0x00}, {0x04,0x04,0x04,0x04,0x04,0x00,0x04}, /*   ! */
  {0x0A,0x0A,0x0A,0x00,0x00,0x00,0x00}, {0x0A,0x0A,0x1F,0x0A,0x1F,0x0A,0x0A}, /* " # */
  {0x04,0x0F,0x14,0x0E,0x05,0x1E,0x04}, {0x18,0x19,0x02,0x04,0x08,0x13,0x03}, /* $ % */
  {0x0C,0x12,0x14,0x08,0x15,0x12,0x0D}, {0x04,0x04,0x08,0x00,0x00,0x00,0x00}, /* & ' */
  {0x02,0x04,0x08,0x08,0x08,0x04,0x02}, {0x08,0x04,0x02,0x02,0x02,0x04,0x08}, /* ( ) */
  {0x00,0x04,0x15,0x0E,0x15,0x04,0x00}, {0x00,0x04,0x04,0x1F,0x04,0x04,0x00}, /* * + */
  {0x00,0x00,0x00,0x00,0x0C,0x04,0x08}, {0x00,0x00,0x00,0x1F,0x00,0x00,0x00}, /* , - */
  {0x00,0x00,0x00,0x00,0x00,0x0C,0x0C}, {0x00,0x01,0x02,0x04,0x08,0x10,0x00}, /* . / */
  {0x0E,0x11,0x13,0x15,0x19,0x11,0x0E}, {0x04,0x0C,0x04,0x04,0x04,0x04,0x0E}, /* 0 1 */
  {0x0E,0x11,0x01,0x02,0x04,0x08,0x1F}, {0x1F,0x02,0x04,0x02,0x01,0x11,0x0E}, /* 2 3 */
  {0x02,0x06,0x0A,0x12,0x1F,0x02,0x02}, {0x1F,0x10,0x1E,0x01,0x01,0x11,0x0E}, /* 4 5 */
  {0x06,0x08,0x10,0x1E,0x11,0x11,0x0E}, {0x1F,0x01,0x02,0x04,0x08,0x08,0x08}, /* 6 7 */
  {0x0E,0x11,0x11,0x0E,0x11,0x11,0x0E}, {0x0E,0x11,0x11,0x0F,0x01,0x02,0x0C}, /* 8 9 */
  {0x00,0x0C,0x0C,0x00,0x0C,0x0C,0x00}, {0x00,0x0C,0x0C,0x00,0x0C,0x04,0x08}, /* : ; */
  {0x02,0x04,0x08,0x10,0x08,0x04,0x02}, {0x00,0x00,0x1F,0x00,0x1F,0x00,0x00}, /* < = */
  {0x08,0x04,0x02,0x01,0x02,0x04,0x08}, {0x0E,0x11,0x01,0x02,0x04,0x00,0x04}, /* > ? */
  {0x0E,0x11,0x01,0x0D,0x15,0x15,0x0E}, {0x0E,0x11,0x11,0x11,0x1F,0x11,0x11}, /* @ A */
  {0x1E,0x11,0x11,0x1E,0x11,0x11,0x1E}, {0x0E,0x11,0x10,0x10,0x10,0x11,0x0E}, /* B C */
  {0x1C,0x12,0x11,0x11,0x11,0x12,0x1C}, {0x1F,0x10,0x10,0x1E,0x10,0x10,0x1F}, /* D E */
  {0x1F,0x10,0x10,0x1E,0x10,0x10,0x10}, {0x0E,0x11,0x10,0x17,0x11,0x11,0x0F}, /* F G */
  {0x11,0x11,0x11,0x1F,0x11,0x11,0x11}, {0x0E,0x04,0x04,0x04,0x04,0x04,0x0E}, /* H I */
  {0x07,0x02,0x02,0x02,0x02,0x12,0x0C}, {0x11,0x12,0x14,0x18,0x14,0x12,0x11}, /* J K */
  {0x10,0x10,0x10,0x10,0x10,0x10,0x1F}, {0x11,0x1B,0x15,0x15,0x11,0x11,0x11}, /* L M */
  {0x11,0x11,0x19,0x15,0x13,0x11,0x11}, {0x0E,0x11,0x11,0x11,0x11,0x11,0x0E}, /* N O */
  {0x1E,0x11,0x11,0x1E,0x10,0x10,0x10}, {0x0E,0x11,0x11,0x11,0x15,0x12,0x0D}, /* P Q */
  {0x1E,0x11,0x11,0x1E,0x14,0x12,0x11}, {0x0F,0x10,0x10,0x0E,0x01,0x01,0x1E}, /* R S */
  {0x1F,0x04,0x04,0x04,0x04,0x04,0x04}, {0x11,0x11,0x11,0x11,0x11,0x11,0x0E}, /* T U */
  {0x11,0x11,0x11,0x11,0x11,0x0A,0x04}, {0x11,0x11,0x11,0x15,0x15,0x15,0x0A}, /* V W */
  {0x11,0x11,0x0A,0x04,0x0A,0x11,0x11}, {0x11,0x11,0x11,0x0A,0x04,0x04,0x04}, /* X Y */
  {0x1F,0x01,0x02,0x04,0x08,0x10,0x1F}, {0x0E,0x08,0x08,0x08,0x08,0x08,0x0E}, /* Z [ */
  {0x00,0x10,0x08,0x04,0x02,0x01,0x00}, {0x0E,0x02,0x02,0x02,0x02,0x02,0x0E}, /* \ ] */
  {0x04,0x0A,0x11,0x00,0x00,0x00,0x00}, {0x00,0x00,0x00,0x00,0x00,0x00,0x1F}, /* ^ _ */
  {0x08,0x04,0x02,0x00,0x00,0x00,0x00}, {0x00,0x00,0x0E,0x01,0x0F,0x11,0x0F}, /* ` a */
  {0x10,0x10,0x16,0x19,0x11,0x11,0x1E}, {0x00,0x00,0x0E,0x10,0x10,0x11,0x0E}, /* b c */
  {0x01,0x01,0x0D,0x13,0x11,0x11,0x0F}, {0x00,0x00,0x0E,0x11,0x1F,0x10,0x0E}, /* d e */
  {0x06,0x09,0x08,0x1C,0x08,0x08,0x08}, {0x0F,0x11,0x11,0x11,0x0F,0x01,0x0E}, /* f g */
  {0x10,0x10,0x16,0x19,0x11,0x11,0x11}, {0x04,0x00,0x0C,0x04,0x04,0x04,0x0E}, /* h i */
  {0x02,0x00,0x06,0x02,0x02,0x12,0x0C}, {0x10,0x10,0x12,0x14,0x18,0x14,0x12}, /* j k */
  {0x0C,0x04,0x04,0x04,0x04,0x04,0x0E}, {0x00,0x00,0x1A,0x15,0x15,0x11,0x11}, /* l m */
  {0x00,0x00,0x16,0x19,0x11,0x11,0x11}, {0x00,0x00,0x0E,0x11,0x11,0x11,0x0E}, /* n o */
  {0x1E,0x11,0x11,0x11,0x1E,0x10,0x10}, {0x0F,0x11,0x11,0x11,0x0F,0x01,0x01}, /* p q */
  {0x00,0x00,0x16,0x19,0x10,0x10,0x10}, {0x00,0x00,0x0E,0x10,0x0E,0x01,0x1E}, /* r s */
  {0x08,0x08,0x1C,0x08,0x08,0x09,0x06}, {0x00,0x00,0x11,0x11,0x11,0x13,0x0D}, /* t u */
  {0x00,0x00,0x11,0x11,0x11,0x0A,0x04}, {0x00,0x00,0x11,0x11,0x15,0x15,0x0A}, /* v w */
  {0x00,0x00,0x11,0x0A,0x04,0x0A,0x11}, {0x11,0x11,0x11,0x11,0x0F,0x01,0x0E}, /* x y */
  {0x00,0x00,0x1F,0x02,0x04,0x08,0x1F}, {0x02,0x04,0x04,0x08,0x04,0x04,0x02}, /* z { */
  {0x04,0x04,0x04,0x04,0x04,0x04,0x04}, {0x08,0x04,0x04,0x02,0x04,0x04,0x08}, /* | } */
  {0x00,0x00,0x08,0x15,0x02,0x00,0x00},                                       /* ~   */
};
// clang-format on

typedef enum { SHAPE_LINE, SHAPE_DOT, SHAPE_TEXT } shape_kind_t;

/* One thing to draw. Text is anchored at the vertical middle of its letters. */
typedef struct shape {
  shape_kind_t kind;
  int x0, y0, x1, y1; /* line ends; a dot's centre and (x1) radius; text's anchor */
  uint32_t rgb;
  int dashed;   /* line */
  int align;    /* text: -1 starts, 0 is centred, 1 ends at the anchor */
  int vertical; /* text: turned to read upwards */
  char text[48];
} shape_t;

typedef struct chart {
  shape_t shapes[MAX_SHAPES];
  int n;
} chart_t;

/* A text or dot's extent, for label placement. */
typedef struct box {
  int x, y, w, h;
} box_t;

/* An axis from 0 in `ticks` steps of a 1-2-5 multiple of a power of ten. */
typedef struct axis {
  double max, step;
  int ticks, decimals;
} axis_t;

/* The axis that shows 0..data_max with a little room above. */
static axis_t make_axis(double data_max) {
  if (!(data_max > 0)) data_max = 1;
  double want = data_max * 1.05, raw = want / 6, mag = pow(10, floor(log10(raw))), f = raw / mag;
  axis_t a = {0, (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag, 0, 0};
  a.ticks = (int)ceil(want / a.step - 1e-9);
  a.max = a.ticks * a.step;
  a.decimals = a.step >= 1 ? 0 : (int)ceil(-log10(a.step) - 1e-9);
  return a;
}

/* Appends a blank shape of `kind` in `rgb` to the chart and returns it. */
static shape_t *add(chart_t *c, shape_kind_t kind, uint32_t rgb) {
  shape_t *s = &c->shapes[c->n++]; /* MAX_SHAPES bounds what layout() adds */
  memset(s, 0, sizeof *s);
  s->kind = kind, s->rgb = rgb;
  return s;
}

/* Appends a line from (x0, y0) to (x1, y1), solid or dashed. */
static void add_line(chart_t *c, int x0, int y0, int x1, int y1, uint32_t rgb, int dashed) {
  shape_t *s = add(c, SHAPE_LINE, rgb);
  s->x0 = x0, s->y0 = y0, s->x1 = x1, s->y1 = y1, s->dashed = dashed;
}

/* Appends printf-formatted text anchored at (x, y), aligned as shape_t.align. */
static void add_text(chart_t *c, int x, int y, int align, int vertical, uint32_t rgb,
                     const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static void add_text(chart_t *c, int x, int y, int align, int vertical, uint32_t rgb,
                     const char *fmt, ...) {
  shape_t *s = add(c, SHAPE_TEXT, rgb);
  s->x0 = x, s->y0 = y, s->align = align, s->vertical = vertical;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->text, sizeof s->text, fmt, ap);
  va_end(ap);
}

/* Width in pixels of `text` in the PNG font (SVG text is narrower). */
static int text_width(const char *text) {
  return (int)strlen(text) * CHAR_W - SCALE;
}

/* Pixels that boxes a and b share. */
static int overlap(box_t a, box_t b) {
  int w = (a.x + a.w < b.x + b.w ? a.x + a.w : b.x + b.w) - (a.x > b.x ? a.x : b.x);
  int h = (a.y + a.h < b.y + b.h ? a.y + a.h : b.y + b.h) - (a.y > b.y ? a.y : b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

/* Where labels may go: the plot area, and the boxes of what is in it. */
typedef struct room {
  box_t area;
  box_t *taken;             /* room for 2n + 2 boxes: budget line and label, dots, labels */
  int n_taken, first_label; /* taken[first_label..] are point labels */
} room_t;

/* The square around a dot at (x, y) of radius r. */
static box_t dot_box(int x, int y, int r) {
  return (box_t){x - r, y - r, 2 * r + 1, 2 * r + 1};
}

/* Puts a label beside the dot `d`: of eight spots around it, the one that
 * covers the fewest pixels of what is taken. Where every spot would cover
 * another point's label or leave the plot area (text on text being
 * unreadable), the point stays unlabelled: stdout has every number. */
static void place_label(chart_t *c, room_t *room, box_t d, const char *label, uint32_t rgb) {
  const int w = text_width(label), h = CHAR_H, g = 4, cx = d.x + d.w / 2, cy = d.y + d.h / 2;
  const box_t spots[8] = {{d.x + d.w + g, cy - h / 2, w, h}, {d.x - g - w, cy - h / 2, w, h},
                          {cx - w / 2, d.y - g - h, w, h},   {cx - w / 2, d.y + d.h + g, w, h},
                          {d.x + d.w, d.y - h, w, h},        {d.x + d.w, d.y + d.h, w, h},
                          {d.x - w, d.y - h, w, h},          {d.x - w, d.y + d.h, w, h}};
  int pick = 0, least = -1, on_text = 0;
  for (int k = 0; k < 8 && least != 0; k++) {
    int text = w * h - overlap(spots[k], room->area), cost = 0; /* tick labels are outside */
    const box_t padded = {spots[k].x - 6, spots[k].y - 2, w + 12, h + 4}; /* keeps words apart */
    for (int i = 0; i < room->n_taken; i++) {
      cost += overlap(spots[k], room->taken[i]);
      text += i >= room->first_label ? overlap(padded, room->taken[i]) : 0;
    }
    if (least < 0 || cost + 4 * text < least) least = cost + 4 * text, pick = k, on_text = text;
  }
  if (on_text) return;
  room->taken[room->n_taken++] = spots[pick];
  add_text(c, spots[pick].x, spots[pick].y + h / 2, -1, 0, rgb, "%s", label);
}

/* Lays the chart out into `c`; `room.taken` has space for 2n + 2 boxes. */
static void layout(chart_t *c, const cli_plot_point_t *p, int n, double budget_ms, int best,
                   room_t room) {
  double max_ms = 0, max_rate = 0;
  for (int i = 0; i < n; i++) {
    if (p[i].p99_ms > max_ms) max_ms = p[i].p99_ms;
    if (p[i].seq_per_s > max_rate) max_rate = p[i].seq_per_s;
  }
  /* A budget far beyond every point would squeeze them into a corner: then
   * the axis stops at the data and the budget is named at its edge. */
  int budget_shown = n == 0 || budget_ms <= 2 * max_ms;
  axis_t ax = make_axis(budget_shown && budget_ms > max_ms ? budget_ms : max_ms);
  axis_t ay = make_axis(max_rate);
  /* The plot starts right of the widest (the top) throughput tick label. */
  char top[32];
  snprintf(top, sizeof top, "%.*f", ay.decimals, ay.max);
  const int left = TITLE_X + CHAR_H / 2 + 20 + text_width(top);
  room.area = (box_t){left + 1, TOP, RIGHT - left, BOTTOM - TOP};
#define PX(ms) (left + (int)lround((RIGHT - left) * (ms) / ax.max))
#define PY(rate) (BOTTOM - (int)lround((BOTTOM - TOP) * (rate) / ay.max))
  for (int k = 0; k <= ax.ticks; k++) {
    int x = PX(k * ax.step);
    if (k) add_line(c, x, TOP, x, BOTTOM, GRID, 0);
    add_line(c, x, BOTTOM, x, BOTTOM + 5, BLACK, 0);
    add_text(c, x, BOTTOM + 18, 0, 0, GREY, "%.*f", ax.decimals, k * ax.step);
  }
  for (int k = 0; k <= ay.ticks; k++) {
    int y = PY(k * ay.step);
    if (k) add_line(c, left, y, RIGHT, y, GRID, 0);
    add_line(c, left - 5, y, left, y, BLACK, 0);
    add_text(c, left - 10, y, 1, 0, GREY, "%.*f", ay.decimals, k * ay.step);
  }
  add_line(c, left, BOTTOM, RIGHT, BOTTOM, BLACK, 0);
  add_line(c, left, TOP, left, BOTTOM, BLACK, 0);
  add_text(c, TITLE_X - CHAR_H / 2, 24, -1, 0, BLACK, "throughput vs p99 latency");
  if (best >= 0)
    add_text(c, RIGHT, 24, 1, 0, GREEN, "recommended: %dx%d", p[best].batch, p[best].seq);
  else
    add_text(c, RIGHT, 24, 1, 0, RED, "nothing within the budget");
  add_text(c, (left + RIGHT) / 2, HEIGHT - 24, 0, 0, BLACK, "p99 latency per batch (ms)");
  add_text(c, TITLE_X, (TOP + BOTTOM) / 2, 0, 1, BLACK, "sequences/s");

  char budget[40];
  snprintf(budget, sizeof budget, budget_shown ? "budget %g ms" : "budget %g ms ->", budget_ms);
  const int bx = budget_shown ? PX(budget_ms) : RIGHT, bw = text_width(budget);
  const box_t bl = {!budget_shown || bx + 6 + bw > RIGHT ? bx - 6 - bw : bx + 6, TOP + 4, bw,
                    CHAR_H};
  if (budget_shown) {
    add_line(c, bx, TOP, bx, BOTTOM, RED, 1);
    room.taken[room.n_taken++] = (box_t){bx - 1, TOP, 3, BOTTOM - TOP};
  }
  add_text(c, bl.x, bl.y + CHAR_H / 2, -1, 0, RED, "%s", budget);

  /* Dots first (the recommended one last, on top), then labels around them,
   * the recommended label first so that it gets the best spot. */
  for (int i = 0; i <= n; i++) {
    int k = i < n ? i : best, r = k == best ? BEST_R : DOT_R;
    if (k < 0 || (i < n && k == best)) continue;
    shape_t *s = add(c, SHAPE_DOT, k == best ? GREEN : BLUE);
    s->x0 = PX(p[k].p99_ms), s->y0 = PY(p[k].seq_per_s), s->x1 = r;
    room.taken[room.n_taken++] = dot_box(s->x0, s->y0, r);
  }
  room.first_label = room.n_taken;
  room.taken[room.n_taken++] = bl;
  for (int i = -1; i < n; i++) {
    int k = i < 0 ? best : i;
    if (k < 0 || (i >= 0 && k == best)) continue;
    char label[32];
    snprintf(label, sizeof label, "%dx%d", p[k].batch, p[k].seq);
    box_t dot = dot_box(PX(p[k].p99_ms), PY(p[k].seq_per_s), k == best ? BEST_R : DOT_R);
    place_label(c, &room, dot, label, k == best ? GREEN : BLACK);
  }
#undef PX
#undef PY
}

/* Writes s as XML character data. */
static void svg_escaped(FILE *f, const char *s) {
  for (; *s; s++) {
    switch (*s) {
      case '<': fputs("&lt;", f); break;
      case '>': fputs("&gt;", f); break;
      case '&': fputs("&amp;", f); break;
      default: fputc(*s, f);
    }
  }
}

/* Prints the chart's shapes as SVG elements into path. */
static sinter_status_t write_svg(const char *path, const chart_t *c, sinter_error_t *err) {
  FILE *f = fopen(path, "w");
  if (!f) return cli_error(err, SINTER_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  fprintf(f,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
          "font-family=\"sans-serif\" font-size=\"16\">\n"
          "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
          WIDTH, HEIGHT);
  for (int i = 0; i < c->n; i++) {
    const shape_t *s = &c->shapes[i];
    if (s->kind == SHAPE_LINE) {
      fprintf(f,
              "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#%06x\"%s "
              "shape-rendering=\"crispEdges\"/>\n",
              s->x0, s->y0, s->x1, s->y1, (unsigned)s->rgb,
              s->dashed ? " stroke-dasharray=\"8 6\"" : "");
    } else if (s->kind == SHAPE_DOT) {
      fprintf(f, "<circle cx=\"%d\" cy=\"%d\" r=\"%d\" fill=\"#%06x\"/>\n", s->x0, s->y0, s->x1,
              (unsigned)s->rgb);
    } else {
      static const char *const anchors[] = {"start", "middle", "end"};
      fprintf(f, "<text x=\"%d\" y=\"%d\" dy=\"0.35em\" text-anchor=\"%s\" fill=\"#%06x\"", s->x0,
              s->y0, anchors[s->align + 1], (unsigned)s->rgb);
      if (s->vertical) fprintf(f, " transform=\"rotate(-90 %d %d)\"", s->x0, s->y0);
      fputc('>', f);
      svg_escaped(f, s->text);
      fputs("</text>\n", f);
    }
  }
  fputs("</svg>\n", f);
  int failed = ferror(f);
  if (fclose(f) != 0 || failed)
    return cli_error(err, SINTER_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
  return SINTER_OK;
}

/* The raster is WIDTH x HEIGHT pixels of three bytes, R G B, rows top down.
 * put() colours one pixel; pixels off the canvas are dropped. */
static void put(uint8_t *img, int x, int y, uint32_t rgb) {
  if (x < 0 || y < 0 || x >= WIDTH || y >= HEIGHT) return;
  uint8_t *px = img + ((size_t)y * WIDTH + (size_t)x) * 3;
  px[0] = (uint8_t)(rgb >> 16), px[1] = (uint8_t)(rgb >> 8), px[2] = (uint8_t)rgb;
}

/* Bresenham; a dashed line draws 8 pixels of every 14, like the SVG's. */
static void draw_line(uint8_t *img, const shape_t *s) {
  int x = s->x0, y = s->y0, dx = abs(s->x1 - x), dy = -abs(s->y1 - y);
  int sx = x < s->x1 ? 1 : -1, sy = y < s->y1 ? 1 : -1, e = dx + dy;
  for (int step = 0;; step++) {
    if (!s->dashed || step % 14 < 8) put(img, x, y, s->rgb);
    if (x == s->x1 && y == s->y1) break;
    if (2 * e >= dy) e += dy, x += sx;
    if (2 * e <= dx) e += dx, y += sy;
  }
}

/* A filled disc; r*r + r rounds its edge better than r*r. */
static void draw_dot(uint8_t *img, const shape_t *s) {
  const int r = s->x1;
  for (int dy = -r; dy <= r; dy++)
    for (int dx = -r; dx <= r; dx++)
      if (dx * dx + dy * dy <= r * r + r) put(img, s->x0 + dx, s->y0 + dy, s->rgb);
}

/* Each font pixel becomes a SCALE x SCALE block; `along` runs with the
 * reading direction, `across` down the letters (leftwards when vertical). */
static void draw_text(uint8_t *img, const shape_t *s) {
  const int w = text_width(s->text), start = s->align < 0 ? 0 : s->align == 0 ? -w / 2 : -w;
  for (int i = 0; s->text[i]; i++) {
    unsigned ch = (unsigned char)s->text[i];
    const uint8_t *glyph = font[(ch >= 32 && ch <= 126 ? ch : '?') - 32];
    const int drop = ch && strchr("gpqy", (int)ch) ? 2 : 0;
    for (int row = 0; row < 7; row++)
      for (int col = 0; col < 5; col++) {
        if (!(glyph[row] & (0x10 >> col))) continue;
        for (int a = 0; a < SCALE; a++)
          for (int b = 0; b < SCALE; b++) {
            int along = start + i * CHAR_W + col * SCALE + a,
                across = (row + drop) * SCALE + b - CHAR_H / 2;
            put(img, s->vertical ? s->x0 + across : s->x0 + along,
                s->vertical ? s->y0 - along : s->y0 + across, s->rgb);
          }
      }
  }
}

enum { PNG_MESSAGE = 128 }; /* bytes of libpng's error message kept */

/* libpng's error handler: keeps the message for the status, and unwinds. */
static void png_fail(png_structp png, png_const_charp message) {
  snprintf(png_get_error_ptr(png), PNG_MESSAGE, "%s", message);
  png_longjmp(png, 1);
}

/* libpng's warning handler: silent, as warnings do not stop the picture. */
static void png_warn(png_structp png, png_const_charp message) {
  (void)png, (void)message;
}

/* Rasterizes the chart's shapes on white and writes them to path as an
 * 8-bit RGB PNG. libpng reports its errors by longjmp to the setjmp here. */
static sinter_status_t write_png(const char *path, const chart_t *c, sinter_error_t *err) {
  uint8_t *img = malloc((size_t)WIDTH * HEIGHT * 3);
  if (!img) return cli_error(err, SINTER_ERR_OUT_OF_MEMORY, "%s: no memory for the image", path);
  memset(img, 0xff, (size_t)WIDTH * HEIGHT * 3);
  for (int i = 0; i < c->n; i++) {
    const shape_t *s = &c->shapes[i];
    switch (s->kind) {
      case SHAPE_LINE: draw_line(img, s); break;
      case SHAPE_DOT: draw_dot(img, s); break;
      case SHAPE_TEXT: draw_text(img, s); break;
    }
  }
  FILE *f = fopen(path, "wb");
  if (!f) {
    free(img);
    return cli_error(err, SINTER_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  }
  /* Nothing that setjmp's return path reads changes after setjmp. */
  char message[PNG_MESSAGE] = "out of memory";
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, message, png_fail, png_warn);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  sinter_status_t st = SINTER_OK;
  if (!info) {
    st = cli_error(err, SINTER_ERR_OUT_OF_MEMORY, "%s: libpng: %s", path, message);
  } else if (setjmp(png_jmpbuf(png))) {
    st = cli_error(err, SINTER_ERR_IO, "%s: libpng: %s", path, message);
  } else {
    png_init_io(png, f);
    png_set_IHDR(png, info, WIDTH, HEIGHT, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < HEIGHT; y++) png_write_row(png, img + (size_t)y * WIDTH * 3);
    png_write_end(png, info);
  }
  png_destroy_write_struct(&png, &info);
  free(img);
  int failed = ferror(f);
  if (fclose(f) != 0 || failed) {
    if (st == SINTER_OK)
      st = cli_error(err, SINTER_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
  }
  return st;
}

/* The extension decides the format: 's' for .svg, 'p' for .png, 0 for neither. */
static char format_of(const char *path) {
  size_t len = strlen(path);
  if (len < 4) return 0;
  return !strcasecmp(path + len - 4, ".svg") ? 's' : !strcasecmp(path + len - 4, ".png") ? 'p' : 0;
}

int cli_plot_format_known(const char *path) {
  return format_of(path) != 0;
}

sinter_status_t cli_plot_write(const char *path, const cli_plot_point_t *points, int n,
                               double budget_ms, int best, sinter_error_t *err) {
  char format = format_of(path);
  if (!format || n < 0 || n > CLI_PLOT_MAX_POINTS || best >= n || !(budget_ms > 0))
    return cli_error(err, SINTER_ERR_INVALID_ARGUMENT,
                     "%s: a plot takes FILE.svg or FILE.png, up to %d points", path,
                     CLI_PLOT_MAX_POINTS);
  chart_t *c = malloc(sizeof *c);
  box_t *taken = malloc(sizeof *taken * (size_t)(2 * n + 2));
  sinter_status_t st;
  if (!c || !taken) {
    st = cli_error(err, SINTER_ERR_OUT_OF_MEMORY, "%s: no memory for the plot", path);
  } else {
    c->n = 0;
    layout(c, points, n, budget_ms, best, (room_t){.taken = taken});
    st = format == 's' ? write_svg(path, c, err) : write_png(path, c, err);
  }
  free(taken);
  free(c);
  return st;
}

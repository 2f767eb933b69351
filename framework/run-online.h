/* lifelong — a run's measurements of an online stream (the accuracy curve,
 * a_auc, a_last) and of noisy labels (flips, replay and buffer purity).
 * Private to the host; framework/run-online.c. */
#pragma once

#include "host.h"

typedef struct LfOnlineCurve LfOnlineCurve;

/* For scenario sc over ds (both borrowed, outliving the curve).  With a
 * scenario that is not online the curve measures nothing but purity. */
LfOnlineCurve *lf_online_curve_new (const LfScenario *sc, LfDataset *ds);
void           lf_online_curve_free (LfOnlineCurve *c);
/* n more stream samples were trained on (their classes are now seen);
 * TRUE when an evaluation is due (eval_every samples since the last). */
gboolean       lf_online_curve_advance (LfOnlineCurve *c, const int64_t *ids, int64_t n);
/* TRUE when the stream has moved since the last point (the end's point). */
gboolean       lf_online_curve_end_due (const LfOnlineCurve *c);
/* The test ids of the classes seen so far (new GArray of int64). */
GArray        *lf_online_curve_eval_ids (const LfOnlineCurve *c);
/* Appends a point: acc at the current stream position. */
void           lf_online_curve_record (LfOnlineCurve *c, double acc);
/* The batch a step trains on, after the strategy's before_batch, and the
 * step's n stream samples: counts the rows that are not among them (what
 * the strategy replayed) and how many of those carry clean labels
 * (label_noise only). */
void           lf_online_curve_replay (LfOnlineCurve *c, const LfBatch *batch, const int64_t *stream, int64_t n);
/* Adds "a_auc" and "a_last" to a result's metrics (online only). */
void           lf_online_curve_add_metrics (const LfOnlineCurve *c, JsonObject *metrics);
/* The result's "online" member (new node). */
JsonNode      *lf_online_curve_json (const LfOnlineCurve *c);
/* The result's "label_noise" member (new node); buffer: the ids the
 * strategy last reported holding (lf_ctx_report_buffer), or NULL. */
JsonNode      *lf_label_noise_json (const LfOnlineCurve *c, const GArray *buffer);

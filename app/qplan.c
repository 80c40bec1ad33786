/* qplan: per-tensor type choice and file-type labels (see qplan.h). The
 * file-type ids are llama.cpp's enum llama_ftype, a fact of the file format.
 */
#include "qplan.h"

#include <stddef.h>

#include "qtypes.h"

const int qplan_types[] = { QT_F32, QT_F16, QT_BF16, QT_Q8_0, QT_Q4_0, QT_Q5_0,
                            QT_Q4_K, QT_Q5_K, QT_Q6_K };
const int qplan_n_types = (int)(sizeof qplan_types / sizeof qplan_types[0]);

const char *qplan_type_list(void) { return "f32, f16, bf16, q8_0, q4_0, q5_0, q4_K, q5_K, q6_K"; }

int qplan_is_target(int type) {
    for (int i = 0; i < qplan_n_types; i++)
        if (qplan_types[i] == type) return 1;
    return 0;
}

int qplan_pick(int target, uint32_t n_dims, uint64_t ne0) {
    if (n_dims < 2) return QT_F32;
    const qt_traits *tr = qt_get(target);
    if (!tr || ne0 % (uint64_t)tr->block == 0) return target;
    if (ne0 % QK8_0 == 0) return target == QT_Q4_K ? QT_Q5_0 : QT_Q8_0;
    return QT_F16;
}

int qplan_ftype(int target) {
    switch (target) {
    case QT_F32: return 0;
    case QT_F16: return 1;
    case QT_Q4_0: return 2;
    case QT_Q8_0: return 7;
    case QT_Q5_0: return 8;
    case QT_Q4_K: return 15; /* llama-quantize labels a Q4_K request Q4_K_M */
    case QT_Q5_K: return 17; /* ... and Q5_K as Q5_K_M */
    case QT_Q6_K: return 18;
    case QT_BF16: return 32;
    default: return -1;
    }
}

const char *qplan_ftype_name(int ftype) {
    static const struct { int id; const char *name; } names[] = {
        {0, "all F32"}, {1, "mostly F16"}, {2, "mostly Q4_0"}, {3, "mostly Q4_1"},
        {7, "mostly Q8_0"}, {8, "mostly Q5_0"}, {9, "mostly Q5_1"}, {10, "mostly Q2_K"},
        {11, "Q3_K_S"}, {12, "Q3_K_M"}, {13, "Q3_K_L"}, {14, "Q4_K_S"}, {15, "Q4_K_M"},
        {16, "Q5_K_S"}, {17, "Q5_K_M"}, {18, "mostly Q6_K"}, {32, "mostly BF16"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].id == ftype) return names[i].name;
    return "unknown";
}

from pipeline.evaluation.metrics import normalise_text
from pipeline.stages.asr import normalise as asr_normalise
from pipeline.text import normalise


def test_normalise_lowercases_folds_yo_and_drops_punctuation_and_symbols():
    assert normalise("Ёлки-палки, «Старобельск»!") == "елки палки старобельск"
    assert normalise("  Рост: +15%… (да?) ") == "рост 15 да"


def test_the_stages_and_the_scores_compare_texts_the_same_way():
    text = "Субтитры сделал DimaTorzok — «Продолжение следует...»"
    assert asr_normalise is normalise
    assert normalise_text(text) == normalise(text)

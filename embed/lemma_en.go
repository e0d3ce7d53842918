package embed

import "strings"

// englishLemmas maps irregular English inflections to their base form,
// which Snowball then stems: Snowball strips suffixes and so never relates
// "broken" to "breaks", "bought" to "buy" or "children" to "child", and a
// customer's "my kettle is broken" missed the page saying "a lid that
// breaks". Written out for this project from the standard lists of English
// irregular verbs and nouns (past tense and past participle; irregular
// plurals). Forms that are also common words of another meaning are left
// out on purpose: "left" (the side), "saw" (the tool), "bit", "ground",
// "wound", "rose", "bore", "lay", "bound", "fell", "won" (the "won" of
// "won't"), "found" (also the verb of "founded": on MS MARCO, "how to
// find ..." then met every "was found"), "leaves" and "lives" (verbs
// too), "better" and "best".
var englishLemmas = lemmaTable(`
arose arise  arisen arise  awoke awake  awoken awake
beaten beat  became become  befell befall  befallen befall  began begin  begun begin
bent bend  bled bleed  blew blow  blown blow  bred breed  broke break  broken break
brought bring  built build  burnt burn  bought buy
caught catch  chose choose  chosen choose  clung cling  came come  crept creep
dealt deal  dug dig  drew draw  drawn draw  dreamt dream  drank drink  drunk drink
drove drive  driven drive  dwelt dwell
ate eat  eaten eat
fallen fall  fed feed  felt feel  fought fight  fled flee  flung fling  flew fly
flown fly  forbade forbid  forbidden forbid  foresaw foresee  foreseen foresee
forgot forget  forgotten forget  forgave forgive  forgiven forgive  forsook forsake
forsaken forsake  froze freeze  frozen freeze
got get  gotten get  gave give  given give  went go  gone go  grew grow  grown grow
hung hang  heard hear  hid hide  hidden hide  held hold
kept keep  knelt kneel  knew know  known know
laid lay  led lead  leapt leap  learnt learn  lent lend  lost lose
made make  meant mean  met meet  mislaid mislay  misled mislead  mistook mistake  mistaken mistake
misunderstood misunderstand  mown mow
overcame overcome  overdid overdo  overdone overdo  overheard overhear  overpaid overpay
overran overrun  oversaw oversee  overseen oversee  overslept oversleep  overtook overtake
overtaken overtake  overthrew overthrow  overthrown overthrow  overwrote overwrite  overwritten overwrite
paid pay  proven prove
ran run  rang ring  rung ring  rebuilt rebuild  redid redo  redone redo  remade remake
repaid repay  reran rerun  resold resell  retold retell  rewrote rewrite
rewritten rewrite  rode ride  ridden ride  risen rise
said say  sought seek  sold sell  sent send  sewn sew  shook shake  shaken shake  shone shine
shot shoot  shown show  shrank shrink  shrunk shrink  sang sing  sung sing  sank sink  sunk sink
sat sit  slept sleep  slid slide  slung sling  smelt smell  sped speed  spent spend  spilt spill
spun spin  spat spit  spoilt spoil  spoke speak  spoken speak  sprang spring  sprung spring
stood stand  stole steal  stolen steal  stuck stick  stung sting  stank stink  stunk stink
strode stride  struck strike  strove strive  striven strive  swore swear  sworn swear
swept sweep  swam swim  swum swim  swung swing
took take  taken take  taught teach  tore tear  torn tear  told tell  thought think
threw throw  thrown throw  trod tread  trodden tread
underwent undergo  undergone undergo  understood understand  undertook undertake
undertaken undertake  undid undo  undone undo  upheld uphold  
woke wake  woken wake  wore wear  worn wear  wove weave  woven weave  wept weep  wrung wring
withdrew withdraw  withdrawn withdraw  withheld withhold  withstood withstand
wrote write  written write
men man  women woman  children child  feet foot  teeth tooth  geese goose  mice mouse
knives knife  wives wife  halves half  shelves shelf  wolves wolf  loaves loaf
thieves thief  calves calf
analyses analysis  crises crisis  diagnoses diagnosis  theses thesis  hypotheses hypothesis
criteria criterion  phenomena phenomenon  indices index  matrices matrix  appendices appendix
vertices vertex  cacti cactus  fungi fungus  nuclei nucleus  radii radius  stimuli stimulus
alumni alumnus  bacteria bacterium  curricula curriculum  formulae formula  antennae antenna
larvae larva  vertebrae vertebra  oases oasis  parentheses parenthesis  emphases emphasis
synopses synopsis  syntheses synthesis  prognoses prognosis
beheld behold  bidden bid  foretold foretell  foregone forgo  forewent forgo  hewn hew  leant lean
misspelt misspell  outdid outdo  outdone outdo  outgrew outgrow  outgrown outgrow  outran outrun
outsold outsell  outshone outshine  overdrew overdraw  overdrawn overdraw  overfed overfeed
overhung overhang  overlaid overlay  overrode override  overridden override  oversold oversell
overspent overspend  overshot overshoot  partook partake  partaken partake  sawn saw  shorn shear
slain slay  slew slay  smitten smite  stridden stride  strewn strew  underpaid underpay
undersold undersell  underwrote underwrite  underwritten underwrite  unwound unwind
rewound rewind
`)

// lemmaTable reads whitespace-separated pairs of form and base form.
func lemmaTable(pairs string) map[string]string {
	f := strings.Fields(pairs)
	m := make(map[string]string, len(f)/2)
	for i := 0; i+1 < len(f); i += 2 {
		if f[i] != f[i+1] {
			m[f[i]] = f[i+1]
		}
	}
	return m
}

// englishLemma returns the base form of an irregular English inflection,
// or w itself.
func englishLemma(w string) string {
	if b, ok := englishLemmas[w]; ok {
		return b
	}
	return w
}

package embed

import "strings"

// Stop lists per language: short on purpose (articles, pronouns,
// prepositions, auxiliaries and question words), like the English one, so
// that a question keeps its content words. Written for this project from
// each language's grammar; Snowball's own lists are longer and drop words
// such as "sin" or "без" that carry meaning in support questions.
var stopLists = map[Lang]map[string]struct{}{
	English: stopWords,
	Spanish: set(`a al algo como con cual cuales cuando de del donde e el ella ellas ellos en entre era es esa ese eso esta este esto estos fue ha han hay la las le les lo los me mi mis muy nos o os para pero por porque que qué quien se si sin su sus te tu tus un una uno unos y ya yo
		cómo cuál cuándo dónde quién cuánto cuánta cuántos cuántas vuestro vuestra vosotros usted ustedes`),
	French:     set(`a à au aux avec ce ces cet cette comment dans de des du elle elles en est et eu il ils je la le les leur leurs lui ma mais me mes moi mon ne nos notre nous on ou où par pas pour qu que quel quelle quels quelles qui sa se ses son sont sur ta te tes toi ton tu un une vos votre vous y été être avez ai`),
	German:     set(`aber als am an auch auf aus bei bin bis bist da das dass dem den der des die dies diese dieser du ein eine einem einen einer eines er es für hat habe haben ich ihr im in ist ja kann mein meine mit nach nicht noch nur oder sie sind so um und uns von vor war was wer wie wir wo zu zum zur welche welcher wann warum`),
	Portuguese: set(`a ao aos as com como da das de do dos e ela ele eles em entre era é essa esse esta este eu foi há isso isto já la lhe mais mas me meu minha muito na nas no nos o os ou para pela pelo por qual quando que quem se seu sua são também te tem um uma você vocês onde`),
	Italian:    set(`a al alla alle agli ai che chi come con da dal dalla dei del della delle di dove e è gli ha hanno ho i il in io la le lei lo loro lui ma mi mia mio ne nel nella noi non o per perché più quale quando quanto se si sono su sua suo tu un una uno voi vostro`),
	Russian:    set(`а без более бы был была были было быть в вам вас весь во вот все всё вы где да для до его ее её если есть ещё же за здесь и из или им их к как ко когда кто ли мне мой мы на над наш не него нет ни но ну о об он она они оно от по под при с со так также то тот ту ты у уже что чтобы чем эта эти это я сколько какой какая какие каких`),
	Swedish:    set(`att av de den det du en ett för från har hur i jag kan med mig min och om på som till var vad vi är`),
	Norwegian:  set(`at av de den det du en et for fra har hva hvor hvordan i jeg kan med meg min og om på som til var vi er`),
	Hungarian:  set(`a az és hogy is egy nem de meg mi mit ki van volt ez azt én te ő mint vagy már csak hol hogyan mikor`),
	// Arabic words are listed normalised (see normaliseArabic).
	Arabic: set(`في من على الى ان عن مع هذا هذه ذلك تلك التي الذي هو هي هم انا انت نحن كان كانت ما ماذا لماذا كيف متى اين هل او ثم قد لا لم لن كل بعد قبل عند`),
	CJK:    {},
}

func set(words string) map[string]struct{} {
	m := map[string]struct{}{}
	for _, w := range strings.Fields(words) {
		m[w] = struct{}{}
	}
	return m
}

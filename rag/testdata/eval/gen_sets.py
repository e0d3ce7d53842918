#!/usr/bin/env python3
"""Writes the self-written BEIR-format retrieval sets es/ and ru/.

Every text here was written for this project (no third-party text). Each set
is a help centre of a fictional appliance shop: 25 products x 8 aspects
(templated passages, hard negatives for one another: the product name is
shared by 8 passages, the aspect words by 25) plus hand-written policy
passages. Queries are worded the way a customer asks, with other word forms
and synonyms than the passages. Deterministic (fixed seed): re-running it
rewrites the same files.

    python3 rag/testdata/eval/gen_sets.py
"""
import json, os, random

HERE = os.path.dirname(os.path.abspath(__file__))

ES = {
    "products": [
        ("el hervidor Aqua 3", "del hervidor Aqua 3"), ("la cafetera Brio", "de la cafetera Brio"),
        ("la tostadora Dora", "de la tostadora Dora"), ("la batidora Vita", "de la batidora Vita"),
        ("la aspiradora Nube", "de la aspiradora Nube"), ("la plancha Liso", "de la plancha Liso"),
        ("el ventilador Brisa", "del ventilador Brisa"), ("la freidora Crujo", "de la freidora Crujo"),
        ("la báscula Peso Pro", "de la báscula Peso Pro"), ("la lámpara Luma", "de la lámpara Luma"),
        ("el altavoz Eco", "del altavoz Eco"), ("el cepillo Zen", "del cepillo Zen"),
        ("el secador Aire", "del secador Aire"), ("el robot de cocina Chef 5", "del robot de cocina Chef 5"),
        ("el purificador Puro", "del purificador Puro"), ("el humidificador Niebla", "del humidificador Niebla"),
        ("el termo Calor", "del termo Calor"), ("el exprimidor Zumo", "del exprimidor Zumo"),
        ("el molinillo Grano", "del molinillo Grano"), ("el horno Fuego", "del horno Fuego"),
        ("la yogurtera Nata", "de la yogurtera Nata"), ("la arrocera Sushi", "de la arrocera Sushi"),
        ("el deshumidificador Seco", "del deshumidificador Seco"), ("la sandwichera Toro", "de la sandwichera Toro"),
        ("la vaporera Vapo", "de la vaporera Vapo"),
    ],
    "colors": ["blanco y negro", "rojo, azul y gris", "verde menta", "negro mate y plata", "amarillo y blanco"],
    "aspects": {
        "warranty": (["{P} tiene una garantía de {n} meses desde la fecha de compra. La garantía cubre los defectos de fabricación, no el desgaste normal ni los golpes.",
                      "La garantía {D} es de {n} meses. Para usarla guarde el ticket de compra; cubre averías de fábrica."],
                     ["mi {p} se ha estropeado a los pocos meses, ¿me lo cubrís?", "¿cuántos meses de garantía tiene {p}?"]),
        "price": (["{P} cuesta {m} euros con el IVA incluido. En las rebajas de enero el precio baja un diez por ciento.",
                   "El precio {D} es de {m} euros, impuestos incluidos, y el envío se paga aparte."],
                  ["¿cuánto vale {p}?", "¿qué precio tiene {p}?"]),
        "weight": (["{P} pesa {g} gramos y mide {c} centímetros de alto, así que cabe en cualquier armario.",
                    "Con {g} gramos de peso y {c} centímetros de altura, {p} es fácil de guardar."],
                   ["¿es pesado {p}? ¿cuántos gramos?", "¿cuánto pesa {p}?"]),
        "cleaning": (["Para limpiar {p}, desenchúfelo, deje que se enfríe y pase un paño húmedo. No lo sumerja en agua ni use productos abrasivos.",
                      "La limpieza {D} es sencilla: desconéctelo, espere a que esté frío y use solo un paño suave y húmedo."],
                     ["¿cómo se limpia {p}?", "¿puedo meter {p} en el lavavajillas para lavarlo?"]),
        "power": (["{P} consume {w} vatios en funcionamiento y menos de medio vatio en espera.",
                   "El consumo eléctrico {D} es de {w} vatios; en modo de espera casi no gasta energía."],
                  ["¿cuánta electricidad gasta {p}?", "¿cuántos vatios consume {p}?"]),
        "colors": (["{P} se vende en {col}. Todos los colores tienen el mismo precio.",
                    "Los colores disponibles {D} son {col}; otros acabados no se fabrican."],
                   ["¿en qué colores está {p}?", "¿hay {p} en otro color?"]),
        "parts": (["Las piezas de recambio {D} se piden en la tienda en línea, en la sección de repuestos, indicando el número de serie.",
                   "Si necesita un repuesto para {p}, búsquelo por el número de serie en la sección de piezas de recambio de la web."],
                  ["¿dónde consigo piezas de repuesto para {p}?", "se me ha perdido una pieza {d}, ¿se puede comprar suelta?"]),
        "box": (["La caja {D} incluye el aparato, el cable, un manual en seis idiomas y una tarjeta de garantía.",
                 "En el embalaje {d} vienen el aparato, el cable de alimentación, las instrucciones y la tarjeta de garantía."],
                ["¿qué viene en la caja {d}?", "¿trae manual de instrucciones {p}?"]),
    },
    "general": [
        ("Enviamos a toda España peninsular en 48 horas laborables. A Canarias, Ceuta y Melilla el envío tarda de cinco a siete días.", "¿cuánto tarda en llegar un pedido a Canarias?"),
        ("No realizamos envíos a Estados Unidos ni a Canadá. Dentro de la Unión Europea enviamos a todos los países.", "¿mandáis paquetes a EE. UU.?"),
        ("El envío es gratuito en pedidos de más de 50 euros. Por debajo de esa cantidad cuesta 4,95 euros.", "¿a partir de qué importe no pago los portes?"),
        ("Puede devolver cualquier producto en un plazo de 30 días desde la entrega, sin dar explicaciones. El reembolso llega en 5 días hábiles.", "me arrepiento de la compra, ¿puedo devolverla?"),
        ("Aceptamos pago con tarjeta de crédito o débito, transferencia bancaria y Bizum. No aceptamos pagos en efectivo.", "¿se puede pagar con Bizum?"),
        ("Nuestro servicio de atención al cliente atiende de lunes a viernes de 9:00 a 18:00. Los sábados solo por correo electrónico.", "¿a qué hora abre el servicio de atención al cliente?"),
        ("Para cambiar la contraseña de su cuenta, pulse en Mi cuenta, después en Seguridad y elija Cambiar contraseña.", "quiero poner otra clave en mi cuenta"),
        ("Si olvidó su contraseña, use el enlace He olvidado mi contraseña en la página de acceso y recibirá un correo para crear una nueva.", "no me acuerdo de la contraseña y no puedo entrar"),
        ("Para borrar su cuenta escríbanos desde el correo con el que se registró. Eliminamos todos sus datos en un plazo de 30 días.", "¿cómo elimino mi cuenta y mis datos?"),
        ("La factura de cada pedido se envía por correo electrónico y también se puede descargar en Mi cuenta, sección Pedidos.", "necesito la factura de mi compra"),
        ("Un pedido se puede cancelar sin coste mientras no haya salido del almacén. Después hay que devolverlo.", "¿puedo anular un pedido que acabo de hacer?"),
        ("Si el paquete llega dañado, haga una foto del embalaje y escríbanos en las 48 horas siguientes; le enviamos otro sin coste.", "la caja llegó rota y el aparato golpeado"),
        ("El número de seguimiento aparece en el correo de confirmación de envío y en Mi cuenta. Con él puede ver dónde está el paquete.", "¿dónde veo por dónde va mi paquete?"),
        ("Nuestra tienda física está en la calle Mayor 12 de Zaragoza y abre de lunes a sábado de 10:00 a 20:00.", "¿tenéis tienda donde pueda ir en persona?"),
        ("Los cupones de descuento se introducen en la cesta antes de pagar. Solo se puede usar un cupón por pedido.", "¿puedo usar dos códigos de descuento a la vez?"),
        ("Las tarjetas regalo son válidas durante dos años y se pueden gastar en varias compras hasta agotar el saldo.", "¿caducan las tarjetas regalo?"),
        ("Reciclamos gratis su aparato viejo cuando le entregamos uno nuevo de la misma categoría; avise al hacer el pedido.", "¿os lleváis la máquina vieja al traer la nueva?"),
        ("Los datos personales se guardan en servidores de la Unión Europea y nunca se venden a terceros.", "¿vendéis mis datos a otras empresas?"),
        ("Las empresas pueden pedir factura con su CIF y, a partir de diez unidades, solicitar un presupuesto con descuento por volumen.", "somos una empresa y queremos comprar veinte aparatos"),
        ("El boletín de noticias se envía una vez al mes; puede darse de baja con el enlace que hay al final de cada correo.", "no quiero recibir más correos de publicidad"),
        ("Todos nuestros aparatos funcionan a 230 voltios y llevan enchufe europeo. No sirven para redes de 110 voltios.", "¿funcionan vuestros aparatos en un país con 110 V?"),
        ("La reparación fuera de garantía cuesta una tarifa fija de 25 euros más las piezas. Pida antes un presupuesto gratuito.", "ya no tengo garantía, ¿cuánto cuesta arreglarlo?"),
        ("Puede recoger su pedido en más de 2.000 puntos de recogida; elija el punto en el último paso de la compra.", "¿se puede recoger el pedido en un punto cercano en vez de en casa?"),
    ],
    "fillers": [
        "Nuestra empresa fue fundada en 1998 por dos hermanos en un pequeño taller de Zaragoza.",
        "Trabajamos con fabricantes europeos y revisamos cada lote antes de ponerlo a la venta.",
        "El blog de recetas publica cada semana ideas para cocinar con nuestros aparatos.",
        "Participamos en programas de formación para jóvenes técnicos de reparación.",
        "Los embalajes son de cartón reciclado y no llevan plásticos de un solo uso.",
        "En primavera organizamos demostraciones de cocina en la tienda de Zaragoza.",
        "Nuestro equipo de diseño prueba cada producto durante meses en cocinas reales.",
        "Las opiniones de los clientes se publican sin filtrar, también las negativas.",
    ],
}

RU = {
    "products": [
        ("чайник Аква 3", "чайника Аква 3"), ("кофеварка Брио", "кофеварки Брио"), ("тостер Дора", "тостера Дора"),
        ("блендер Вита", "блендера Вита"), ("пылесос Облако", "пылесоса Облако"), ("утюг Гладь", "утюга Гладь"),
        ("вентилятор Бриз", "вентилятора Бриз"), ("фритюрница Хруст", "фритюрницы Хруст"), ("весы Вес Про", "весов Вес Про"),
        ("лампа Люма", "лампы Люма"), ("колонка Эхо", "колонки Эхо"), ("щётка Дзен", "щётки Дзен"),
        ("фен Ветер", "фена Ветер"), ("кухонный комбайн Шеф 5", "кухонного комбайна Шеф 5"),
        ("очиститель воздуха Чистота", "очистителя воздуха Чистота"), ("увлажнитель Туман", "увлажнителя Туман"),
        ("термос Тепло", "термоса Тепло"), ("соковыжималка Сок", "соковыжималки Сок"), ("кофемолка Зерно", "кофемолки Зерно"),
        ("мини-печь Огонь", "мини-печи Огонь"), ("йогуртница Сливки", "йогуртницы Сливки"), ("рисоварка Суши", "рисоварки Суши"),
        ("осушитель Сухость", "осушителя Сухость"), ("сэндвичница Торо", "сэндвичницы Торо"), ("пароварка Пар", "пароварки Пар"),
    ],
    "colors": ["белом и чёрном", "красном, синем и сером", "мятно-зелёном", "матово-чёрном и серебристом", "жёлтом и белом"],
    "aspects": {
        "warranty": (["На {p} действует гарантия {n} месяцев со дня покупки. Гарантия покрывает заводские дефекты, но не обычный износ и удары.",
                      "Гарантийный срок {d} составляет {n} месяцев. Сохраните чек: гарантия распространяется на заводские поломки."],
                     ["мой {p} сломался через пару месяцев, это гарантийный случай?", "сколько месяцев гарантии у {d}?"]),
        "price": (["{P} стоит {m} рублей с учётом НДС. Во время январской распродажи цена снижается на десять процентов.",
                   "Цена {d} составляет {m} рублей, налоги включены, доставка оплачивается отдельно."],
                  ["сколько стоит {p}?", "какая цена у {d}?"]),
        "weight": (["{P} весит {g} граммов, высота {c} сантиметров, поэтому помещается в любой шкаф.",
                    "При весе {g} граммов и высоте {c} сантиметров {p} легко убрать на полку."],
                   ["{p} тяжёлый? сколько граммов?", "сколько весит {p}?"]),
        "cleaning": (["Чтобы почистить {p}, отключите его от сети, дайте остыть и протрите влажной тканью. Не погружайте в воду и не используйте абразивные средства.",
                      "Чистка {d} простая: отключите прибор, подождите, пока он остынет, и используйте только мягкую влажную ткань."],
                     ["как чистить {p}?", "можно ли мыть {p} в посудомоечной машине?"]),
        "power": (["{P} потребляет {w} ватт во время работы и меньше половины ватта в режиме ожидания.",
                   "Потребляемая мощность {d} составляет {w} ватт; в режиме ожидания прибор почти не расходует энергию."],
                  ["сколько электричества тратит {p}?", "какая мощность у {d} в ваттах?"]),
        "colors": (["{P} продаётся в {col} цвете. Все цвета стоят одинаково.",
                    "Доступные цвета {d}: {col}; другие варианты не выпускаются."],
                   ["в каких цветах бывает {p}?", "есть ли {p} другого цвета?"]),
        "parts": (["Запасные части для {d} заказываются в интернет-магазине, в разделе запчастей, по серийному номеру.",
                   "Если нужна запчасть для {d}, найдите её по серийному номеру в разделе запасных частей на сайте."],
                  ["где купить запчасти для {d}?", "потерял деталь от {d}, можно купить отдельно?"]),
        "box": (["В коробке {d} находятся сам прибор, кабель, инструкция на шести языках и гарантийный талон.",
                 "В комплект поставки {d} входят прибор, сетевой кабель, инструкция и гарантийный талон."],
                ["что лежит в коробке {d}?", "есть ли инструкция в комплекте {d}?"]),
    },
    "general": [
        ("Мы доставляем заказы по Москве за один-два рабочих дня. В другие регионы доставка занимает от трёх до семи дней.", "сколько идёт посылка в Новосибирск?"),
        ("Мы не отправляем заказы в США и Канаду. По странам Европейского союза доставка возможна.", "вы доставляете в Америку?"),
        ("Доставка бесплатна для заказов дороже 3000 рублей. Для меньших заказов она стоит 300 рублей.", "с какой суммы доставка бесплатная?"),
        ("Любой товар можно вернуть в течение 14 дней после получения без объяснения причин. Деньги возвращаются за пять рабочих дней.", "передумал, могу ли я вернуть покупку?"),
        ("Мы принимаем банковские карты, переводы через СБП и оплату по счёту для юридических лиц. Наличные курьер не принимает.", "можно заплатить через СБП?"),
        ("Служба поддержки работает с понедельника по пятницу с 9:00 до 18:00 по московскому времени. В субботу отвечаем только на письма.", "во сколько начинает работать поддержка?"),
        ("Чтобы сменить пароль, откройте Личный кабинет, затем раздел Безопасность и выберите Сменить пароль.", "хочу поменять пароль в аккаунте"),
        ("Если вы забыли пароль, нажмите ссылку Забыли пароль на странице входа: мы пришлём письмо для создания нового.", "не помню пароль и не могу войти"),
        ("Чтобы удалить учётную запись, напишите нам с адреса, указанного при регистрации. Все данные удаляются в течение 30 дней.", "как удалить аккаунт и мои данные?"),
        ("Чек по каждому заказу приходит на электронную почту, его также можно скачать в Личном кабинете в разделе Заказы.", "нужен чек за покупку"),
        ("Заказ можно отменить бесплатно, пока он не покинул склад. После отправки его нужно вернуть.", "можно ли отменить только что оформленный заказ?"),
        ("Если посылка пришла повреждённой, сфотографируйте упаковку и напишите нам в течение 48 часов; мы бесплатно отправим замену.", "коробка пришла разбитой, прибор помят"),
        ("Трек-номер указан в письме об отправке и в Личном кабинете. По нему можно отследить, где находится посылка.", "где посмотреть, где сейчас моя посылка?"),
        ("Наш магазин находится в Казани на улице Баумана, 12, и работает с понедельника по субботу с 10:00 до 20:00.", "у вас есть магазин, куда можно прийти?"),
        ("Промокод вводится в корзине до оплаты. К одному заказу можно применить только один промокод.", "можно использовать два промокода сразу?"),
        ("Подарочные сертификаты действуют два года, их можно тратить частями на несколько покупок.", "у подарочного сертификата есть срок действия?"),
        ("При доставке нового прибора мы бесплатно забираем старый той же категории на утилизацию; сообщите об этом при заказе.", "заберёте старую технику, когда привезёте новую?"),
        ("Персональные данные хранятся на серверах в России и никогда не передаются третьим лицам для рекламы.", "вы продаёте мои данные другим компаниям?"),
        ("Компании могут получить счёт с реквизитами, а при заказе от десяти штук запросить скидку за объём.", "мы организация, хотим купить двадцать приборов"),
        ("Рассылка приходит раз в месяц; отписаться можно по ссылке в конце каждого письма.", "не хочу больше получать рекламные письма"),
        ("Все наши приборы рассчитаны на 230 вольт и имеют европейскую вилку. Для сети 110 вольт они не подходят.", "будут ли ваши приборы работать от 110 вольт?"),
        ("Ремонт после окончания гарантии стоит 1500 рублей плюс запчасти. Сначала запросите бесплатную оценку.", "гарантия закончилась, сколько стоит починка?"),
        ("Заказ можно забрать в одном из более чем 2000 пунктов выдачи; пункт выбирается на последнем шаге оформления.", "можно забрать заказ в пункте выдачи рядом с домом?"),
    ],
    "fillers": [
        "Наша компания основана в 1998 году двумя братьями в небольшой мастерской в Казани.",
        "Мы работаем с европейскими производителями и проверяем каждую партию перед продажей.",
        "В блоге с рецептами каждую неделю выходят идеи для приготовления блюд с нашей техникой.",
        "Мы участвуем в программах обучения для молодых мастеров по ремонту.",
        "Упаковка сделана из переработанного картона без одноразового пластика.",
        "Весной мы проводим кулинарные мастер-классы в магазине в Казани.",
        "Наша команда дизайнеров месяцами тестирует каждый продукт на настоящих кухнях.",
        "Отзывы покупателей публикуются без фильтрации, в том числе отрицательные.",
    ],
}


def cap(s):
    return s[0].upper() + s[1:]


def build(lang, spec, seed):
    rnd = random.Random(seed)
    corpus, queries, qrels = [], [], []
    aspects = list(spec["aspects"])
    targets = []
    for i, (p, d) in enumerate(spec["products"]):
        for a in aspects:
            ptempl, qtempl = spec["aspects"][a]
            vals = dict(p=p, P=cap(p), d=d, D=d, n=rnd.choice([12, 18, 24, 36]), m=rnd.randrange(19, 300),
                        g=rnd.randrange(300, 5000), c=rnd.randrange(10, 45), w=rnd.randrange(20, 2200),
                        col=rnd.choice(spec["colors"]))
            did = f"{lang}-p{i:02d}-{a}"
            corpus.append({"_id": did, "title": "", "text": rnd.choice(ptempl).format(**vals)})
            targets.append((did, qtempl, vals))
    rnd.shuffle(targets)
    for n, (did, qtempl, vals) in enumerate(targets[:20]):
        qid = f"{lang}-q{n:02d}"
        queries.append({"_id": qid, "text": rnd.choice(qtempl).format(**vals)})
        qrels.append((qid, did, 2))
    for j, (text, q) in enumerate(spec["general"]):
        did = f"{lang}-g{j:02d}"
        corpus.append({"_id": did, "title": "", "text": text})
        qid = f"{lang}-q{20 + j:02d}"
        queries.append({"_id": qid, "text": q})
        qrels.append((qid, did, 2))
    for j, text in enumerate(spec["fillers"]):
        corpus.append({"_id": f"{lang}-f{j:02d}", "title": "", "text": text})
    out = os.path.join(HERE, lang)
    os.makedirs(os.path.join(out, "qrels"), exist_ok=True)
    with open(os.path.join(out, "corpus.jsonl"), "w", encoding="utf-8") as f:
        for d in corpus:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    with open(os.path.join(out, "queries.jsonl"), "w", encoding="utf-8") as f:
        for q in queries:
            f.write(json.dumps(q, ensure_ascii=False) + "\n")
    with open(os.path.join(out, "qrels", "test.tsv"), "w", encoding="utf-8") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for r in qrels:
            f.write("%s\t%s\t%d\n" % r)
    print(lang, len(corpus), "passages", len(queries), "queries")


build("es", ES, 17)
build("ru", RU, 18)

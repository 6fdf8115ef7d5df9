// Sentence frames for the outside corpus, per language. Only the frames are ours: every value that goes into
// a `{slot}` (the personal data and the look-alike negatives alike) comes from Faker or libphonenumber-js,
// see generate.ts. Frames hold no digits of their own, so every number in a sentence is a generated value.
//
// Phone frames carry a phone word of the language ("call", "Tel.", "Handy", "电话"...), as people write them;
// the negative frames carry none (and no SSN or card word), so a bare ID next to them is not a phone or SSN
// by context.

export type Lang =
  | 'en'
  | 'de'
  | 'fr'
  | 'es'
  | 'it'
  | 'nl'
  | 'pt'
  | 'pl'
  | 'sv'
  | 'nb'
  | 'fi'
  | 'da'
  | 'ja'
  | 'ko'
  | 'zh';

/** The look-alike classes: each value is generated, and none is personal data of the four kinds. */
export type NegativeClass =
  | 'order'
  | 'iban'
  | 'datetime'
  | 'version'
  | 'ipv4'
  | 'tracking'
  | 'price'
  | 'id'
  | 'imei';

export const NEGATIVE_CLASSES: readonly NegativeClass[] = [
  'order',
  'iban',
  'datetime',
  'version',
  'ipv4',
  'tracking',
  'price',
  'id',
  'imei',
];

export interface LangFrames {
  readonly phone: readonly string[];
  readonly email: readonly string[];
  readonly card: readonly string[];
  readonly multi: readonly string[];
  /** One or more frames per class; the slot is named after the class (`{order}`, `{iban}`...). */
  readonly negative: Readonly<Record<NegativeClass, readonly string[]>>;
}

/** US only: Faker has no SSN helper, so SSNs are built from Faker's numbers (see generate.ts). */
export const SSN_FRAMES: readonly string[] = [
  'My SSN is {ssn}.',
  'SSN: {ssn}',
  'Social Security number {ssn} is on the tax form.',
  'Please verify the applicant, social security no. {ssn}, before approval.',
  'The employee record lists SSN {ssn} and a start date next month.',
  'Her social security # is {ssn}; the rest of the form is complete.',
  '"ssn": "{ssn}",',
  'I entered {ssn} in the SSN field but the portal rejected it.',
];

export const FRAMES: Readonly<Record<Lang, LangFrames>> = {
  en: {
    phone: [
      'Call me at {phone} after lunch.',
      'My phone number is {phone}.',
      'Tel: {phone}',
      'You can reach the front desk by phone on {phone}.',
      'Mobile: {phone}, any time before nine.',
      'Please call back on {phone} about the ticket.',
      'He left a voicemail, the callback number is {phone}.',
      'Fax {phone} or email us.',
      'Text my cell {phone} when you arrive.',
      'Contact phone: {phone}',
    ],
    email: [
      'Hi, my email is {email}, please send the invoice there.',
      'Can you update my contact address to {email}?',
      'From: {email}',
      'Reply to <{email}> before Friday.',
    ],
    card: [
      'Please charge my card {card} for the renewal.',
      'Card number: {card}, expiry next year.',
      'The payment with {card} failed.',
      'Please refund it to card {card}.',
    ],
    multi: ['Contact {email} or call {phone}.', 'Charge {card} and send the receipt to {email}.'],
    negative: {
      order: ['Your order {order} has shipped.', 'Order number: {order}'],
      iban: ['Please transfer the deposit to IBAN {iban}.', 'Account (IBAN): {iban}'],
      datetime: ['The meeting is on {datetime}.', 'Last login: {datetime}'],
      version: ['We upgraded to version {version} yesterday.', 'Running build {version} in staging.'],
      ipv4: ['The server at {ipv4} stopped answering.', 'Blocked requests from {ipv4}.'],
      tracking: ['Your parcel tracking number is {tracking}.', 'Tracking: {tracking}'],
      price: ['The total came to {price} including tax.', 'Price: {price}'],
      id: ['Customer ID {id} was merged into the new account.', 'Reference {id} in the ledger.'],
      imei: ['The device IMEI is {imei}.', 'IMEI: {imei}'],
    },
  },
  de: {
    phone: [
      'Rufen Sie mich unter {phone} an.',
      'Meine Telefonnummer ist {phone}.',
      'Tel.: {phone}',
      'Handy: {phone}, erreichbar ab Mittag.',
      'Bitte rufen Sie die Zentrale unter {phone} zurück.',
      'Fax: {phone}',
    ],
    email: ['Meine E-Mail-Adresse lautet {email}.', 'Bitte schicken Sie die Rechnung an {email}.'],
    card: ['Bitte belasten Sie meine Kreditkarte {card}.', 'Kartennummer: {card}'],
    multi: ['Kontakt: {email}, Telefon {phone}.'],
    negative: {
      order: ['Ihre Bestellung {order} wurde versandt.'],
      iban: ['Bitte überweisen Sie den Betrag auf IBAN {iban}.'],
      datetime: ['Der Termin ist am {datetime}.'],
      version: ['Wir haben auf Version {version} aktualisiert.'],
      ipv4: ['Der Server {ipv4} antwortet nicht.'],
      tracking: ['Ihre Sendungsnummer lautet {tracking}.'],
      price: ['Der Gesamtbetrag beträgt {price} inkl. MwSt.'],
      id: ['Kundennummer {id} wurde zusammengeführt.'],
      imei: ['Die IMEI des Geräts ist {imei}.'],
    },
  },
  fr: {
    phone: [
      'Appelez-moi au {phone} demain.',
      'Mon numéro de téléphone est le {phone}.',
      'Tél. : {phone}',
      'Portable : {phone}, après midi.',
      'Merci de rappeler le standard au {phone}.',
      'Fax : {phone}',
    ],
    email: ['Mon adresse e-mail est {email}.', 'Merci d’envoyer la facture à {email}.'],
    card: ['Veuillez débiter ma carte {card}.', 'Numéro de carte : {card}'],
    multi: ['Contact : {email}, téléphone {phone}.'],
    negative: {
      order: ['Votre commande {order} a été expédiée.'],
      iban: ['Merci de virer le montant sur l’IBAN {iban}.'],
      datetime: ['Le rendez-vous est fixé au {datetime}.'],
      version: ['Nous sommes passés à la version {version}.'],
      ipv4: ['Le serveur {ipv4} ne répond plus.'],
      tracking: ['Votre numéro de suivi est {tracking}.'],
      price: ['Le montant total est de {price} TTC.'],
      id: ['Le client {id} a été fusionné.'],
      imei: ['L’IMEI de l’appareil est {imei}.'],
    },
  },
  es: {
    phone: [
      'Llámame al {phone} por la tarde.',
      'Mi número de teléfono es {phone}.',
      'Tel.: {phone}',
      'Móvil: {phone}, a cualquier hora.',
      'Por favor, llame a recepción al {phone}.',
      'Celular {phone}',
    ],
    email: ['Mi correo electrónico es {email}.', 'Envíe la factura a {email}, por favor.'],
    card: ['Cargue el importe a mi tarjeta {card}.', 'Número de tarjeta: {card}'],
    multi: ['Contacto: {email}, teléfono {phone}.'],
    negative: {
      order: ['Su pedido {order} ha sido enviado.'],
      iban: ['Transfiera el importe al IBAN {iban}.'],
      datetime: ['La cita es el {datetime}.'],
      version: ['Actualizamos a la versión {version}.'],
      ipv4: ['El servidor {ipv4} no responde.'],
      tracking: ['Su número de seguimiento es {tracking}.'],
      price: ['El total es {price} con IVA.'],
      id: ['El cliente {id} fue fusionado.'],
      imei: ['El IMEI del dispositivo es {imei}.'],
    },
  },
  it: {
    phone: [
      'Chiamami al {phone} nel pomeriggio.',
      'Il mio numero di telefono è {phone}.',
      'Tel. {phone}',
      'Cellulare: {phone}',
      'Per favore richiami il centralino al {phone}.',
    ],
    email: ['La mia email è {email}.', 'Invii la fattura a {email}, grazie.'],
    card: ['Addebiti l’importo sulla mia carta {card}.', 'Numero della carta: {card}'],
    multi: ['Contatti: {email}, telefono {phone}.'],
    negative: {
      order: ['Il suo ordine {order} è stato spedito.'],
      iban: ['Effettui il bonifico sull’IBAN {iban}.'],
      datetime: ['L’appuntamento è fissato per il {datetime}.'],
      version: ['Abbiamo aggiornato alla versione {version}.'],
      ipv4: ['Il server {ipv4} non risponde.'],
      tracking: ['Il codice di tracciamento è {tracking}.'],
      price: ['Il totale è {price} IVA inclusa.'],
      id: ['Il cliente {id} è stato unito.'],
      imei: ['L’IMEI del dispositivo è {imei}.'],
    },
  },
  nl: {
    phone: [
      'Bel me op {phone} vanmiddag.',
      'Mijn telefoonnummer is {phone}.',
      'Tel.: {phone}',
      'Mobiel: {phone}',
      'Bel de receptie terug op {phone}.',
    ],
    email: ['Mijn e-mailadres is {email}.', 'Stuur de factuur naar {email}, alstublieft.'],
    card: ['Schrijf het bedrag af van mijn creditcard {card}.', 'Kaartnummer: {card}'],
    multi: ['Contact: {email}, telefoon {phone}.'],
    negative: {
      order: ['Uw bestelling {order} is verzonden.'],
      iban: ['Maak het bedrag over naar IBAN {iban}.'],
      datetime: ['De afspraak staat op {datetime}.'],
      version: ['We zijn bijgewerkt naar versie {version}.'],
      ipv4: ['De server {ipv4} reageert niet.'],
      tracking: ['Uw trackingnummer is {tracking}.'],
      price: ['Het totaal is {price} inclusief btw.'],
      id: ['Klant {id} is samengevoegd.'],
      imei: ['Het IMEI van het toestel is {imei}.'],
    },
  },
  pt: {
    phone: [
      'Ligue-me para o {phone} à tarde.',
      'O meu número de telefone é {phone}.',
      'Tel.: {phone}',
      'Telemóvel / celular: {phone}',
      'Por favor, ligue para a recepção no {phone}.',
    ],
    email: ['O meu e-mail é {email}.', 'Envie a fatura para {email}, por favor.'],
    card: ['Debite o valor no meu cartão {card}.', 'Número do cartão: {card}'],
    multi: ['Contato: {email}, telefone {phone}.'],
    negative: {
      order: ['O seu pedido {order} foi enviado.'],
      iban: ['Transfira o valor para o IBAN {iban}.'],
      datetime: ['A reunião está marcada para {datetime}.'],
      version: ['Atualizámos para a versão {version}.'],
      ipv4: ['O servidor {ipv4} não responde.'],
      tracking: ['O código de rastreio é {tracking}.'],
      price: ['O total é {price} com impostos.'],
      id: ['O cliente {id} foi unificado.'],
      imei: ['O IMEI do aparelho é {imei}.'],
    },
  },
  pl: {
    phone: [
      'Proszę zadzwonić pod numer {phone}.',
      'Mój numer telefonu to {phone}.',
      'Tel. {phone}',
      'Komórka: {phone}',
    ],
    email: ['Mój adres e-mail to {email}.', 'Proszę wysłać fakturę na {email}.'],
    card: ['Proszę obciążyć moją kartę {card}.', 'Numer karty: {card}'],
    multi: ['Kontakt: {email}, telefon {phone}.'],
    negative: {
      order: ['Zamówienie {order} zostało wysłane.'],
      iban: ['Proszę przelać kwotę na IBAN {iban}.'],
      datetime: ['Spotkanie jest zaplanowane na {datetime}.'],
      version: ['Zaktualizowaliśmy do wersji {version}.'],
      ipv4: ['Serwer {ipv4} nie odpowiada.'],
      tracking: ['Numer przesyłki to {tracking}.'],
      price: ['Razem do zapłaty {price} brutto.'],
      id: ['Klient {id} został scalony.'],
      imei: ['IMEI urządzenia to {imei}.'],
    },
  },
  sv: {
    phone: [
      'Ring mig på {phone} i eftermiddag.',
      'Mitt telefonnummer är {phone}.',
      'Tel: {phone}',
      'Mobil: {phone}',
    ],
    email: ['Min e-postadress är {email}.', 'Skicka fakturan till {email}, tack.'],
    card: ['Dra beloppet från mitt kort {card}.', 'Kortnummer: {card}'],
    multi: ['Kontakt: {email}, telefon {phone}.'],
    negative: {
      order: ['Din beställning {order} har skickats.'],
      iban: ['Betala in beloppet till IBAN {iban}.'],
      datetime: ['Mötet är bokat till {datetime}.'],
      version: ['Vi har uppgraderat till version {version}.'],
      ipv4: ['Servern {ipv4} svarar inte.'],
      tracking: ['Ditt kollinummer är {tracking}.'],
      price: ['Totalt {price} inklusive moms.'],
      id: ['Kund {id} har slagits ihop.'],
      imei: ['Enhetens IMEI är {imei}.'],
    },
  },
  nb: {
    phone: [
      'Ring meg på {phone} i ettermiddag.',
      'Telefonnummeret mitt er {phone}.',
      'Tlf.: {phone}',
      'Mobil: {phone}',
    ],
    email: ['E-postadressen min er {email}.', 'Send fakturaen til {email}, takk.'],
    card: ['Trekk beløpet fra kortet mitt {card}.', 'Kortnummer: {card}'],
    multi: ['Kontakt: {email}, telefon {phone}.'],
    negative: {
      order: ['Bestillingen {order} er sendt.'],
      iban: ['Overfør beløpet til IBAN {iban}.'],
      datetime: ['Møtet er satt til {datetime}.'],
      version: ['Vi har oppgradert til versjon {version}.'],
      ipv4: ['Serveren {ipv4} svarer ikke.'],
      tracking: ['Sporingsnummeret er {tracking}.'],
      price: ['Totalt {price} inkludert mva.'],
      id: ['Kunde {id} er slått sammen.'],
      imei: ['Enhetens IMEI er {imei}.'],
    },
  },
  fi: {
    phone: [
      'Soita minulle numeroon {phone} iltapäivällä.',
      'Puhelinnumeroni on {phone}.',
      'Puh. {phone}',
      'Matkapuhelin: {phone}',
    ],
    email: ['Sähköpostiosoitteeni on {email}.', 'Lähetä lasku osoitteeseen {email}.'],
    card: ['Veloita summa kortiltani {card}.', 'Kortin numero: {card}'],
    multi: ['Yhteystiedot: {email}, puhelin {phone}.'],
    negative: {
      order: ['Tilauksesi {order} on lähetetty.'],
      iban: ['Maksa summa tilille IBAN {iban}.'],
      datetime: ['Tapaaminen on {datetime}.'],
      version: ['Päivitimme versioon {version}.'],
      ipv4: ['Palvelin {ipv4} ei vastaa.'],
      tracking: ['Lähetystunnuksesi on {tracking}.'],
      price: ['Yhteensä {price} sis. alv.'],
      id: ['Asiakas {id} yhdistettiin.'],
      imei: ['Laitteen IMEI on {imei}.'],
    },
  },
  da: {
    phone: [
      'Ring til mig på {phone} i eftermiddag.',
      'Mit telefonnummer er {phone}.',
      'Tlf.: {phone}',
      'Mobil: {phone}',
    ],
    email: ['Min e-mailadresse er {email}.', 'Send fakturaen til {email}, tak.'],
    card: ['Træk beløbet fra mit kort {card}.', 'Kortnummer: {card}'],
    multi: ['Kontakt: {email}, telefon {phone}.'],
    negative: {
      order: ['Din ordre {order} er afsendt.'],
      iban: ['Overfør beløbet til IBAN {iban}.'],
      datetime: ['Mødet er sat til {datetime}.'],
      version: ['Vi har opgraderet til version {version}.'],
      ipv4: ['Serveren {ipv4} svarer ikke.'],
      tracking: ['Dit pakkenummer er {tracking}.'],
      price: ['I alt {price} inkl. moms.'],
      id: ['Kunde {id} er lagt sammen.'],
      imei: ['Enhedens IMEI er {imei}.'],
    },
  },
  ja: {
    phone: [
      '電話番号は{phone}です。',
      'TEL: {phone}',
      '携帯 {phone} までお電話ください。',
      'お問い合わせ電話：{phone}',
    ],
    email: ['メールアドレスは{email}です。', '請求書は {email} に送ってください。'],
    card: ['カード番号 {card} で支払います。', 'クレジットカード：{card}'],
    multi: ['連絡先：{email}、電話 {phone}'],
    negative: {
      order: ['ご注文 {order} を発送しました。'],
      iban: ['IBAN {iban} へお振り込みください。'],
      datetime: ['会議は {datetime} です。'],
      version: ['バージョン {version} に更新しました。'],
      ipv4: ['サーバー {ipv4} が応答しません。'],
      tracking: ['お問い合わせ番号は {tracking} です。'],
      price: ['合計 {price}（税込）'],
      id: ['顧客 {id} を統合しました。'],
      imei: ['端末のIMEIは {imei} です。'],
    },
  },
  ko: {
    phone: ['전화번호는 {phone}입니다.', 'Tel: {phone}', '휴대폰 {phone}으로 연락 주세요.', '전화: {phone}'],
    email: ['이메일 주소는 {email}입니다.', '청구서를 {email}로 보내 주세요.'],
    card: ['카드 번호 {card}로 결제해 주세요.', '신용카드: {card}'],
    multi: ['연락처: {email}, 전화 {phone}'],
    negative: {
      order: ['주문 {order}이 발송되었습니다.'],
      iban: ['IBAN {iban}으로 송금해 주세요.'],
      datetime: ['회의는 {datetime}에 있습니다.'],
      version: ['버전 {version}으로 업데이트했습니다.'],
      ipv4: ['서버 {ipv4}가 응답하지 않습니다.'],
      tracking: ['운송장 번호는 {tracking}입니다.'],
      price: ['합계 {price} (부가세 포함)'],
      id: ['고객 {id}이 병합되었습니다.'],
      imei: ['기기 IMEI는 {imei}입니다.'],
    },
  },
  zh: {
    phone: ['我的电话是{phone}。', '电话：{phone}', '请拨打手机 {phone} 联系我。', '联系电话 {phone}'],
    email: ['我的邮箱是{email}。', '请把发票发到 {email}。'],
    card: ['请从我的银行卡 {card} 扣款。', '卡号：{card}'],
    multi: ['联系方式：{email}，电话 {phone}'],
    negative: {
      order: ['您的订单 {order} 已发货。'],
      iban: ['请汇款至 IBAN {iban}。'],
      datetime: ['会议时间是 {datetime}。'],
      version: ['我们已升级到版本 {version}。'],
      ipv4: ['服务器 {ipv4} 没有响应。'],
      tracking: ['您的快递单号是 {tracking}。'],
      price: ['合计 {price}（含税）'],
      id: ['客户 {id} 已合并。'],
      imei: ['设备的 IMEI 是 {imei}。'],
    },
  },
};
